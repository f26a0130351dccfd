# Table 5 'L_AQDL, rising delta': AQDL without AQML (paper .813 / .895).
_base_ = ['../auss_r101_s4.py']
model = dict(decode_head=dict(loss_aqml=None))
