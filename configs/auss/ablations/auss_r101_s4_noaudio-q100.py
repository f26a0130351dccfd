# Table 3 'w/o audio': Mask2Former with 100 learnable queries, the audio unused.
_base_ = ['../auss_r101_s4.py']
model = dict(decode_head=dict(num_queries=100, unmixing=None))
