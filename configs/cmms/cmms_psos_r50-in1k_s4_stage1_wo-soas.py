# Table 3 ablation "w/o L_soas": cmms_psos_r50-in1k_s4_stage1.py trained with L_mask_cls only. The paper reports one
# potential instance per test frame without L_soas (I = 3700 on S4) against 2.66 with it.
_base_ = ['./cmms_psos_r50-in1k_s4_stage1.py']
model = dict(decode_head=dict(loss_soas=None))
