# AVSBench/TPAVI official AVSS recipe (avss/train.sh --max_epoches 60 --start_eval_epoch 15 --eval_interval 2):
# Adam, lr 1e-4, no weight decay, no learning-rate schedule, best checkpoint kept on the validation mIoU.
# The official loop validates after 0-indexed epoch e when e >= 15 and e % 2 == 0, i.e. after completed epochs
# 17, 19, ..., 59. mmengine validates after completed epoch n when n >= val_begin and n % val_interval == 0
# (and after the last one), which cannot express odd epochs with an interval of 2; val_begin=16 gives epochs
# 16, 18, ..., 60: the same number of validations, one epoch earlier.
_base_ = ['./schedule_adam_15e.py']
train_cfg = dict(max_epochs=60, val_begin=16, val_interval=2)
default_hooks = dict(checkpoint=dict(save_best='mIoU'))
