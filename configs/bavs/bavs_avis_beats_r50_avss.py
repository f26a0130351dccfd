# BAVS stage 2 on AVSS with the ResNet-50 (ImageNet) stage 1 of bavs_psos_r50_avss_stage1.py;
# otherwise bavs_avis_beats_swin-b_avss.py.
_base_ = ['./bavs_avis_beats_swin-b_avss.py']
model = dict(backbone=dict(_delete_=True, **_base_.r50_backbone), decode_head=dict(in_channels=_base_.r50_channels))
