# BAVS stage 2 on S4 with the ResNet-50 (ImageNet) stage 1 of bavs_psos_r50_s4_stage1.py;
# otherwise bavs_avis_beats_swin-b_s4.py.
_base_ = ['./bavs_avis_beats_swin-b_s4.py']
model = dict(backbone=dict(_delete_=True, **_base_.r50_backbone), decode_head=dict(in_channels=_base_.r50_channels))
