# COMBO official recipe for MS3: as schedule_poly_90k.py with MAX_ITER 20k, validated every 400 iterations
# (official EVAL_PERIOD; the best-on-val checkpoint is the one reported).
_base_ = ['./schedule_poly_90k.py']
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=20000, by_epoch=False)]
train_cfg = dict(max_iters=20000, val_interval=400)
default_hooks = dict(checkpoint=dict(interval=2000))
