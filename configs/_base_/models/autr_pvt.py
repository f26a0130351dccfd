# AuTR (seed 002) with a frozen PVT-v2-b5: autr_r50.py with the PVT-v2-b5 of the AVS baseline AuTR compares with
# (pvt_v2_b5.py, 81.44M parameters; spec sheet A18). Frozen means eval mode, so its drop path is off.
_base_ = ['./autr_r50.py', './pvt_v2_b5.py']
model = dict(
    backbone=dict(backbone=dict(_delete_=True, **{k: v for k, v in _base_.pvt_v2_b5.items() if k != 'init_cfg'}),
                  init_cfg=_base_.pvt_v2_b5.init_cfg),
    neck=dict(in_channels=_base_.pvt_v2_b5_channels),
    decode_head=dict(in_channels=[_base_.pvt_v2_b5_channels[0], 256, 256, 256]))
