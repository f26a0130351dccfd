# COMBO (Yang et al., CVPR 2024) with PVT-v2-b5 Siam-encoders: combo_r50.py with the official PVT-v2-b5
# (pvt_v2_b5.py; 81.44M parameters per encoder) in place of each ResNet-50.
_base_ = ['./combo_r50.py', './pvt_v2_b5.py']
model = dict(
    backbone=dict(backbone=dict(_delete_=True, **_base_.pvt_v2_b5), in_channels=_base_.pvt_v2_b5_channels),
    decode_head=dict(in_channels=_base_.pvt_v2_b5_channels))
