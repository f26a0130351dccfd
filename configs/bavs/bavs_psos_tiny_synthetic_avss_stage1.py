# BAVS stage 1 (PSOS with the silent-object-aware objective L_SOAO = L_seg + L_cls + L_ins), tiny, on the synthetic
# AVSS set for a 2-core CPU (bavs.md §6.5).
#
# Data: `python tools/dataset_converters/synthetic_avsbench.py data/synthetic_avss --subset avss --seed 0` (8
# categories, semantic labels 1..8 = C; v1s / v1m / v2 clips with silent objects; 15% silent clips), then the
# silent-object labels with the generator's record as an oracle caption (stage 1a):
# `python tools/dataset_converters/make_silent_labels.py data/synthetic_avss --captioner oracle-synthetic`.
# PSOS shrunk for the CPU as the CMMS tiny stage 1 (configs/cmms/cmms_psos_tiny_synthetic_s4_stage1.py; the full
# models are configs/bavs/_base_/models/bavs_psos_*.py):
#   - ResNet-18 with 16 base channels from scratch, MSDeformAttn pixel decoder (1 layer, 64 ch), 3 masked-attention
#     decoder layers, 16 queries, 96x96 input;
#   - losses as the paper / sheet: CE 1 (no-object 0.1), focal 20, dice 1, L_ins (SilentObjectAwareLoss) 1 on every
#     layer, L_cls (silent_exclusion=True: unmatched queries predicting a silent category of the frame get no
#     no-object CE) from LoadSilentObjectLabels;
#   - two random labelled frames of 4 clips per iteration (ClipSampleFrames; PSOS treats frames independently);
#   - AdamW lr 1e-3 (from scratch), iterations set by the measured speed (configs/bavs/README.md);
#   - validation: the top-1 output (the "w/o AVIS" model selection of the sheet, §3) scored by AVSSemanticMetric,
#     and I, the potential instances after the two-phase filter (PotentialInstanceMetric, Table V's I).
_base_ = [
    '../_base_/models/psos_r50.py',
    '../_base_/datasets/avsbench_semantic.py',
    '../_base_/default_runtime.py',
]
data_root = 'data/synthetic_avss'
categories = ('disc', 'square', 'triangle', 'ring', 'cross', 'star', 'diamond', 'hexagon')  # label2idx 1..8
scale = (96, 96)
channels = 64
loading = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipAnnotations'),
    dict(type='LoadClipWaveform'),  # unused by stage 1; the same loaders as stage 2, which tags 1 s per frame
]
train_pipeline = [
    *loading,
    dict(type='LoadSilentObjectLabels', ann_file='silent_labels/avss_train.json', data_root=data_root,
         classes=('background', ) + categories),  # dataset class list: index 0 is the background
    dict(type='ClipSampleFrames', num_frames=2),
    dict(
        type='ClipTransformBroadcaster',
        transforms=[dict(type='Resize', scale=scale, keep_ratio=False),
                    dict(type='RandomFlip', prob=0.5)]),
    dict(type='PackAVSInputs'),
]
test_pipeline = [
    *loading,
    dict(type='ClipResize', scale=scale, keep_ratio=False, update_ori_shape=True),
    dict(type='PackAVSInputs'),
]
dataset_common = dict(data_root=data_root, audio_source='wav')
train_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=False,
    dataset=dict(**dataset_common, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=False,
    dataset=dict(**dataset_common, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=False,
    dataset=dict(**dataset_common, pipeline=test_pipeline))
val_evaluator = [
    dict(type='AVSSemanticMetric'),
    # prefixed: both metrics report the test-time audio perturbation, and mmengine refuses a key twice
    dict(type='PotentialInstanceMetric', classes=categories, prefix='instances'),
]
test_evaluator = val_evaluator

model = dict(
    data_preprocessor=dict(size=None, size_divisor=32, test_cfg=dict(size_divisor=32)),
    backbone=dict(
        depth=18, stem_channels=16, base_channels=16, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
        init_cfg=None),
    decode_head=dict(
        in_channels=[16, 32, 64, 128],
        feat_channels=channels,
        out_channels=channels,
        num_classes=len(categories),
        num_queries=16,
        pixel_decoder=dict(
            norm_cfg=dict(type='GN', num_groups=8),
            encoder=dict(
                num_layers=1,
                layer_cfg=dict(
                    self_attn_cfg=dict(embed_dims=channels, num_heads=4),
                    ffn_cfg=dict(embed_dims=channels, feedforward_channels=2 * channels))),
            positional_encoding=dict(num_feats=channels // 2)),
        positional_encoding=dict(num_feats=channels // 2),
        transformer_decoder=dict(
            num_layers=3,
            layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=channels, num_heads=4),
                cross_attn_cfg=dict(embed_dims=channels, num_heads=4),
                ffn_cfg=dict(embed_dims=channels, feedforward_channels=4 * channels))),
        loss_cls=dict(class_weight=[1.0] * len(categories) + [0.1]),
        loss_soas=dict(type='SilentObjectAwareLoss', loss_weight=1.0),  # L_ins
        silent_exclusion=True,  # L_cls
        output='semantic',
        instance_filter='two_phase',
        iou_thr=0.5,
        train_cfg=dict(num_points=2304)))

max_iters = 600
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=1.0, norm_type=2),
    paramwise_cfg=dict(custom_keys={'query_embed': dict(decay_mult=0.0), 'query_feat': dict(decay_mult=0.0),
                                    'level_embed': dict(decay_mult=0.0)}))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='AVSVisualizationHook', draw=False, interval=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
