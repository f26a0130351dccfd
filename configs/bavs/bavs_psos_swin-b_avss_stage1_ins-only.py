# Table V "w/ L_ins": L_ins, no silent-object exemption of the class loss; otherwise bavs_psos_swin-b_avss_stage1.py
# ("w/ both").
_base_ = ['./bavs_psos_swin-b_avss_stage1.py']
model = dict(decode_head=dict(silent_exclusion=False))
