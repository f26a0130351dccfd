# COMBO ablation (paper sec. 4.4, ResNet-50, AVSS): visual fusion only (Table 5): audio injected into the visual
# features, audio unchanged.
_base_ = ['../combo_r50_avss.py']
model = dict(decode_head=dict(fusion=dict(mode='visual')))
