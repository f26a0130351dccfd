# CMMS stage 1 on MS3 with the ImageNet PVT-v2-b5 backbone (Tables 7/8); recipe of cmms_psos_r50-in1k_ms3_stage1.py.
_base_ = ['./cmms_psos_r50-in1k_ms3_stage1.py', '../_base_/models/pvt_v2_b5.py']
model = dict(
    backbone=dict(_delete_=True, **_base_.pvt_v2_b5), decode_head=dict(in_channels=_base_.pvt_v2_b5_channels))
