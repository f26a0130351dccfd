# Table 5 'L_AQDL, fixed delta1 = 0.6' (paper .804 / .894).
_base_ = ['../auss_r101_s4.py']
model = dict(decode_head=dict(loss_aqml=None))
custom_hooks = [*_base_.custom_hooks[:-1], dict(type='DeltaScheduleHook', mode='fixed', fixed=0.6)]
