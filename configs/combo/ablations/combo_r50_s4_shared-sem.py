# COMBO ablation (paper sec. 4.4, ResNet-50, S4): Siam-Encoder with shared weights (Table 4): the Maskige goes through
# the image encoder.
_base_ = ['../combo_r50_s4.py']
model = dict(backbone=dict(share_weights=True))
