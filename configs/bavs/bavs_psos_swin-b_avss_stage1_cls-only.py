# Table V "w/ L_cls": the silent-object exemption of the class loss, no L_ins; otherwise bavs_psos_swin-
# b_avss_stage1.py ("w/ both").
_base_ = ['./bavs_psos_swin-b_avss_stage1.py']
model = dict(decode_head=dict(loss_soas=None, silent_exclusion=True))
