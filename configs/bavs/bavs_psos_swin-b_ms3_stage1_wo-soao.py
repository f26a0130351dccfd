# Table V "w/o SOAO": neither L_cls nor L_ins (plain Mask2Former losses); otherwise bavs_psos_swin-b_ms3_stage1.py
# ("w/ both").
_base_ = ['./bavs_psos_swin-b_ms3_stage1.py']
model = dict(decode_head=dict(loss_soas=None, silent_exclusion=False))
