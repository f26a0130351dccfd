# BAVS stage 1 on AVSS with PVT-v2-b5 (ImageNet) instead of Swin-B (Table IV "Ours PVT"); otherwise bavs_psos_swin-
# b_avss_stage1.py.
_base_ = ['./bavs_psos_swin-b_avss_stage1.py']
model = dict(backbone=dict(_delete_=True, **_base_.pvt_v2_b5), decode_head=dict(in_channels=_base_.pvt_v2_b5_channels))
