# Table 5 'L_AQML, rising delta': AQML without AQDL (paper .807 / .881).
_base_ = ['../auss_r101_s4.py']
model = dict(decode_head=dict(loss_aqdl=None))
