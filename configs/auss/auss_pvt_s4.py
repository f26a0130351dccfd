# AUSS with a PVT-v2-b5 backbone: auss_r50_s4.py with the backbone swapped (not in the AUSS paper; for comparison
# with the AVSBench and COMBO PVT models). Paper and measured numbers: configs/auss/README.md.
_base_ = ['./auss_r50_s4.py', '../_base_/models/pvt_v2_b5.py']
model = dict(
    backbone=dict(_delete_=True, **_base_.pvt_v2_b5), decode_head=dict(in_channels=_base_.pvt_v2_b5_channels))
