# AVSBench/TPAVI official MS3 recipe (avs_ms3/train.sh --max_epoches 30): Adam, lr 1e-4, no weight decay, no
# learning-rate schedule, validation after every epoch, best checkpoint kept on the validation Jaccard (mJ).
_base_ = ['./schedule_adam_15e.py']
train_cfg = dict(max_epochs=30)
