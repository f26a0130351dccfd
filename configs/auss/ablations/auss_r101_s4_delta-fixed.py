# Table 5 fixed-delta rows: delta = 0.6 for the whole run instead of Eq. 22's rise.
_base_ = ['../auss_r101_s4.py']
custom_hooks = [*_base_.custom_hooks[:-1], dict(type='DeltaScheduleHook', mode='fixed', fixed=0.6)]
