# PSOS (psos_r50.py) with the PVT-v2-b5 backbone (ImageNet; pvt_v2_b5.py), seed 001 Tables 7/8, BAVS Table IV.
_base_ = ['./psos_r50.py', './pvt_v2_b5.py']
model = dict(
    backbone=dict(_delete_=True, **_base_.pvt_v2_b5), decode_head=dict(in_channels=_base_.pvt_v2_b5_channels))
