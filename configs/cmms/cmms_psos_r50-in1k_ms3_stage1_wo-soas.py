# Table 3 ablation "w/o L_soas" on MS3: cmms_psos_r50-in1k_ms3_stage1.py trained with L_mask_cls only (the paper:
# I = 320, one instance per MS3 test frame, against 895 with L_soas).
_base_ = ['./cmms_psos_r50-in1k_ms3_stage1.py']
model = dict(decode_head=dict(loss_soas=None))
