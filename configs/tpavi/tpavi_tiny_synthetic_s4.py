# README quickstart: a small TPAVI model trained on the synthetic S4 set on a 2-core CPU within 15 minutes.
#
# Data: `python tools/dataset_converters/synthetic_avsbench.py data/synthetic_s4 --subset s4` (S4 layout, wav
# audio). Model: a narrow ResNet-18 (16 base channels) and a small log-mel CNN trained from scratch instead of
# ImageNet ResNet / AudioSet VGGish (no weights can be downloaded), TPAVI fusion on the three coarser stages
# (1/8, 1/16, 1/32; the 1/4 stage is left out to save CPU time), the AVSBench decoder. Official recipe
# otherwise: all 5 frames of each clip go through the model, frame 1 is supervised.
# Frames and masks are resized to 96x96 and scored there (the official protocol scores at its 224 input size).
_base_ = [
    '../_base_/datasets/avsbench_s4.py',
    '../_base_/default_runtime.py',
]
data_root = 'data/synthetic_s4'
scale = (96, 96)

# the dataset base's loaders (frames, masks, audio)
train_pipeline = [
    *_base_.loading,
    dict(
        type='ClipTransformBroadcaster',
        transforms=[dict(type='Resize', scale=scale, keep_ratio=False),
                    dict(type='RandomFlip', prob=0.5)]),
    dict(type='PackAVSInputs'),
]
test_pipeline = [
    *_base_.loading,
    dict(type='ClipResize', scale=scale, keep_ratio=False, update_ori_shape=True),
    dict(type='PackAVSInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
# the same loader on the test split (a bare `test_dataloader = val_dataloader` would read as the val split but
# keep the base's split='test' when merged: tests/test_configs/test_config_aliases.py)
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))

model = dict(
    type='AudioVisualSegmentor',
    data_preprocessor=dict(
        type='AVSDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        size_divisor=32,
        seg_pad_val=255),
    audio_backbone=dict(type='LogMelCNN', channels=(16, 32, 64), out_channels=128),
    backbone=dict(
        type='ResNet',
        depth=18,
        stem_channels=16,
        base_channels=16,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        strides=(1, 2, 2, 2),
        dilations=(1, 1, 1, 1),
        style='pytorch',
        norm_cfg=dict(type='BN', requires_grad=True),
        contract_dilation=False),
    neck=dict(
        type='TPAVINeck',
        in_channels=[16, 32, 64, 128],
        channels=32,
        dilations=(2, 3, 4, 6),
        tpavi_stages=(1, 2, 3),
        audio_channels=128,
        norm_cfg=dict(type='BN3d', requires_grad=True)),
    decode_head=dict(
        type='AVSBenchHead',
        in_channels=32,
        mid_channels=32,
        channels=16,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        ignore_index=255,
        align_corners=False,
        # Sounding objects cover ~2% of the pixels: weighting them 3x (BCE pos_weight) gets the small model
        # off the all-background solution within the CPU budget.
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=True, class_weight=[3.0], loss_weight=1.0, loss_name='loss_bce')),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

max_iters = 1800  # within the quickstart's 15 minutes on an idle 2-core CPU (timing: configs/tpavi/README.md)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=500, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='AVSVisualizationHook', draw=False, interval=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
