# BAVS stage 1 on S4 with ResNet-50 (ImageNet) instead of Swin-B (Table IV "Ours R50"); otherwise bavs_psos_swin-
# b_s4_stage1.py.
_base_ = ['./bavs_psos_swin-b_s4_stage1.py']
model = dict(backbone=dict(_delete_=True, **_base_.r50_backbone), decode_head=dict(in_channels=_base_.r50_channels))
