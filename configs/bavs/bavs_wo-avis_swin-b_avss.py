# Table VI "w/o AVIS" on AVSS: the stage-1 instance with the highest confidence (PSOSHead's top-1); the
# tags are computed but unused. Same composed checkpoint as bavs_avis_beats_swin-b_avss.py.
_base_ = ['./bavs_avis_beats_swin-b_avss.py']
model = dict(mode='top1')
