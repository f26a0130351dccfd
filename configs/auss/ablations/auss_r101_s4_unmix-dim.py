# Table 4 row 1: dimension projector only, 5 x 256 queries (paper .793 / .872).
_base_ = ['../auss_r101_s4.py']
model = dict(decode_head=dict(num_queries=5, unmixing=dict(use_number_proj=False, num_layers=0)))
