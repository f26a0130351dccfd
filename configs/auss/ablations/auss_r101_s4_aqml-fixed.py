# Table 5 'L_AQML, fixed delta2 = 0.6' (paper .805 / .877).
_base_ = ['../auss_r101_s4.py']
model = dict(decode_head=dict(loss_aqdl=None))
custom_hooks = [*_base_.custom_hooks[:-1], dict(type='DeltaScheduleHook', mode='fixed', fixed=0.6)]
