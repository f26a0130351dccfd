# COMBO ablation (paper sec. 4.4, ResNet-50, AVSS): queries 'all' (Table 6): the fused audio alone forms the queries
# (no learnable query features).
_base_ = ['../combo_r50_avss.py']
model = dict(decode_head=dict(query_fuse='all'))
