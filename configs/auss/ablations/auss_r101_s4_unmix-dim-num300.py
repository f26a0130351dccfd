# Table 4: dimension + number projector, no encoder, 300 x 256 queries.
_base_ = ['../auss_r101_s4.py']
model = dict(decode_head=dict(num_queries=300, unmixing=dict(num_layers=0)))
