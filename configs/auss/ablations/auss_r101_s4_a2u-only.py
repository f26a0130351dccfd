# Table 5 'A2U only': no AQDL, no AQML (paper .818 / .895).
_base_ = ['../auss_r101_s4.py']
model = dict(decode_head=dict(loss_aqdl=None, loss_aqml=None))
