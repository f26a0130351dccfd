# Table VI "w/o AVIS" on S4: the stage-1 instance with the highest confidence (PSOSHead's top-1); the
# tags are computed but unused. Same composed checkpoint as bavs_avis_beats_swin-b_s4.py.
_base_ = ['./bavs_avis_beats_swin-b_s4.py']
model = dict(mode='top1')
