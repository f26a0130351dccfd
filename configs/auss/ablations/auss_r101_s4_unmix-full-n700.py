# Table 4: full A2U with 700 queries.
_base_ = ['../auss_r101_s4.py']
model = dict(decode_head=dict(num_queries=700))
