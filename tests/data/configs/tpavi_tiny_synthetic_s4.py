# A TPAVI-style model small enough to train in seconds on a CPU, on a synthetic S4 set of 32x32 frames
# (tools/dataset_converters/synthetic_avsbench.py OUT --subset s4 --image-size 32). Used by the tool tests:
# pass the data root with
#   --cfg-options train_dataloader.dataset.data_root=OUT val_dataloader.dataset.data_root=OUT \
#                 test_dataloader.dataset.data_root=OUT
_base_ = ['../../../configs/_base_/datasets/avsbench_s4.py', '../../../configs/_base_/default_runtime.py']

data_root = 'data/synthetic_s4'
size = (32, 32)
train_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipAnnotations'),
    dict(type='LoadClipAudio'),
    dict(type='ClipResize', scale=size, keep_ratio=False),
    dict(type='ClipTransformBroadcaster', transforms=[dict(type='RandomFlip', prob=0.5)]),
    dict(type='PackAVSInputs'),
]
test_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipAnnotations'),
    dict(type='LoadClipAudio'),
    dict(type='ClipResize', scale=size, keep_ratio=False, update_ori_shape=True),
    dict(type='PackAVSInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, audio_source='wav', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, audio_source='wav', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='AVSBinaryMetric', fscore_batch_clips=2)
test_evaluator = val_evaluator

model = dict(
    type='AudioVisualSegmentor',
    data_preprocessor=dict(type='AVSDataPreprocessor', size_divisor=32, pad_val=0, seg_pad_val=255),
    audio_backbone=dict(type='LogMelCNN', channels=(4, 8), out_channels=16),
    backbone=dict(
        type='ResNet',
        depth=18,
        stem_channels=8,
        base_channels=8,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='BN', requires_grad=True),
        style='pytorch'),
    neck=dict(
        type='TPAVINeck',
        in_channels=[8, 16, 32, 64],
        channels=16,
        dilations=(2, 3),
        tpavi_stages=(2, 3),
        audio_channels=16,
        norm_cfg=dict(type='BN3d', requires_grad=True)),
    decode_head=dict(
        type='AVSBenchHead',
        in_channels=16,
        mid_channels=8,
        channels=8,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        ignore_index=255,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0, loss_name='loss_bce')),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2, max_keep_ckpts=2, save_best='mJ',
                    rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='AVSVisualizationHook', draw=False, interval=1))
log_processor = dict(by_epoch=False)
env_cfg = dict(cudnn_benchmark=False)
