# AVSBench baseline (TPAVI, Zhou et al. ECCV 2022) with a PVT-v2-b5 visual backbone: tpavi_r50.py with the
# official PVT-v2-b5 (pvt_v2_b5.py) in place of the ResNet-50; defaults and the MS3 / AVSS overrides as there.
_base_ = ['./tpavi_r50.py', './pvt_v2_b5.py']
model = dict(
    backbone=dict(_delete_=True, **_base_.pvt_v2_b5),
    neck=dict(in_channels=_base_.pvt_v2_b5_channels))
