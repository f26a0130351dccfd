# AVSBench-object MS3 as AuTR trains on it (seed 002 §4.3; spec sheet §4): the 224x224 release frames, no
# augmentation (spec sheet A11), all 5 labelled frames of a clip in training (T = 5). Val/test as S4.
_base_ = ['./avsbench_ms3.py']
train_pipeline = _base_.baseline_train_pipeline
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
