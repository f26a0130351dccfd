# BAVS stage 2 on S4 with the PVT-v2-b5 (ImageNet) stage 1 of bavs_psos_pvt_s4_stage1.py;
# otherwise bavs_avis_beats_swin-b_s4.py.
_base_ = ['./bavs_avis_beats_swin-b_s4.py']
model = dict(backbone=dict(_delete_=True, **_base_.pvt_v2_b5), decode_head=dict(in_channels=_base_.pvt_v2_b5_channels))
