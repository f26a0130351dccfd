# CMMS stage 2 on MS3 with the ImageNet PVT-v2-b5 PSOS and VGGish (Tables 7/8: "Ours PVT" MS3 J 58.22 / F 65.10);
# recipe of cmms_avsc_vggish_r50_ms3_stage2.py, stage 1 = cmms_psos_pvt-in1k_ms3_stage1.py.
_base_ = ['./cmms_avsc_vggish_r50_ms3_stage2.py', '../_base_/models/pvt_v2_b5.py']
model = dict(
    stage1_checkpoint='checkpoints/cmms_psos_pvt-in1k_ms3_stage1.pth',
    backbone=dict(_delete_=True, **dict(_base_.pvt_v2_b5, init_cfg=None)),
    decode_head=dict(in_channels=_base_.pvt_v2_b5_channels))
