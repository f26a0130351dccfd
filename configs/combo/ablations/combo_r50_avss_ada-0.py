# COMBO ablation (paper sec. 4.4, ResNet-50, AVSS): lambda_ada = 0 (Tables 3 and 7, w/o inter-frame loss): the loss is
# not computed.
_base_ = ['../combo_r50_avss.py']
model = dict(decode_head=dict(loss_ada=None))
