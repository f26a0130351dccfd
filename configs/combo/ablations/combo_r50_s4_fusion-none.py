# COMBO ablation (paper sec. 4.4, ResNet-50, S4): w/o Bilateral-Fusion (Tables 3 and 5): no fusion; the audio still
# becomes the queries.
_base_ = ['../combo_r50_s4.py']
model = dict(decode_head=dict(fusion=dict(mode='none')))
