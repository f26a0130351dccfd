# Table 3 'w/ audio' N = 200 (number + dimension projector, no encoder; spec sheet B20).
_base_ = ['../auss_r101_s4.py']
model = dict(decode_head=dict(num_queries=200, unmixing=dict(num_layers=0)))
