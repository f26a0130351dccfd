# AVSBench baseline (TPAVI) with PVT-v2-b5 on AVSBench-object S4: the official recipe is the ResNet-50 one with the
# other backbone, so this is tpavi_r50_s4.py with PVT-v2-b5 (and the stage widths of the TPAVI neck).
_base_ = ['./tpavi_r50_s4.py', '../_base_/models/pvt_v2_b5.py']
model = dict(backbone=dict(_delete_=True, **_base_.pvt_v2_b5), neck=dict(in_channels=_base_.pvt_v2_b5_channels))
