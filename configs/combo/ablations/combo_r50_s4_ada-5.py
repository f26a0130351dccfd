# COMBO ablation (paper sec. 4.4, ResNet-50, S4): lambda_ada = 5 (Table 7).
_base_ = ['../combo_r50_s4.py']
model = dict(decode_head=dict(loss_ada=dict(loss_weight=5.0)))
