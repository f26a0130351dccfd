# Table VI "w/o AVIS" on the tiny synthetic AVSS model: the stage-1 instance with the highest confidence
# (PSOSHead's top-1), the tags unused. Same composed checkpoint as bavs_avis_tiny_synthetic_avss.py.
_base_ = ['bavs_avis_tiny_synthetic_avss.py']
model = dict(mode='top1')
