# COMBO ablation (paper sec. 4.4, ResNet-50, AVSS): lambda_ada = 10 (Table 7).
_base_ = ['../combo_r50_avss.py']
model = dict(decode_head=dict(loss_ada=dict(loss_weight=10.0)))
