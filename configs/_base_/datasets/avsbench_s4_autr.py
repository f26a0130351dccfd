# AVSBench-object S4 as AuTR trains on it (seed 002 §4.3; spec sheet §4): the 224x224 release frames, no
# augmentation (the paper names none, and the AVS baseline it compares with has none: spec sheet A11), and only
# the labelled frame of each training clip (ClipSelectLabelledFrames: T = 1 in training, as the authors' loader and
# ReferFormer drop unlabelled frames). Val/test score all 5 frames at 224x224, M_F over AVSBench's 4-clip batches.
# The train csv is `ann_file` of the train dataset (few-shot subsets replace it: configs/autr/autr_pvt_s4_r*.py).
_base_ = ['./avsbench_s4.py']
train_pipeline = [
    *_base_.loading,
    dict(type='ClipSelectLabelledFrames'),
    dict(type='ClipResize', scale=_base_.crop_size, keep_ratio=False),
    dict(type='PackAVSInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
