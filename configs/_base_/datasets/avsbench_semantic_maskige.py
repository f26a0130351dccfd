# AVSBench-semantic as COMBO trains on it: avsbench_semantic.py with each frame's Maskige loaded right after the
# frames, and after the official short-side-224 resize and centre crop COMBO's AVSS mapper: SSD colour jitter
# (frames only, one draw per clip) and a horizontal flip.
_base_ = ['./avsbench_semantic.py']
loading = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMaskige'),
    dict(type='LoadClipAnnotations'),
    dict(type='LoadClipAudio'),
]
train_pipeline = [
    *loading,
    *_base_.train_augmentation,
    dict(type='ClipPhotoMetricDistortion'),
    dict(type='ClipTransformBroadcaster', transforms=[dict(type='RandomFlip', prob=0.5)]),
    dict(type='PackAVSInputs'),
]
test_pipeline = [*loading, _base_.test_resize, dict(type='PackAVSInputs')]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
