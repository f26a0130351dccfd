# COMBO ablation (paper sec. 4.4, ResNet-50, AVSS): audio fusion only (Table 5): visual injected into the audio
# feature, visual unchanged.
_base_ = ['../combo_r50_avss.py']
model = dict(decode_head=dict(fusion=dict(mode='audio')))
