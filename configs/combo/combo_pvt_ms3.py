# COMBO (Yang et al., CVPR 2024) PVT-v2-b5 on AVSBench-object MS3: the official recipe
# (configs/avs_ms3/COMBO_PVTV2B5_bs8_20k.yaml) is the ResNet-50 one with PVT-v2-b5 Siam-encoders, so this is
# combo_r50_ms3.py with the backbone swapped.
# Paper and measured numbers: configs/combo/README.md.
_base_ = ['./combo_r50_ms3.py', '../_base_/models/pvt_v2_b5.py']
model = dict(
    backbone=dict(backbone=dict(_delete_=True, **_base_.pvt_v2_b5), in_channels=_base_.pvt_v2_b5_channels),
    decode_head=dict(in_channels=_base_.pvt_v2_b5_channels))
