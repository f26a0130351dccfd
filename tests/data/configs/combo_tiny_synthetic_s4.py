# The quickstart COMBO (configs/combo/combo_tiny_synthetic_s4.py) shrunk further for the tool tests: 32x32 frames
# of a synthetic S4 set generated with --maskige, 8-channel ResNet-18 Siam-Encoder, 32-channel head with 4 queries,
# 256 sampled points, 2 clips per batch and no data loader workers. Like the quickstart model it samples the
# points of its mask loss at random every iteration, which is what tests/test_tools/test_train_resume_test.py
# needs to show that a resumed run is bit-exact. Pass the data root with --data-root.
_base_ = ['../../../configs/combo/combo_tiny_synthetic_s4.py']

scale = (32, 32)
channels = 32
train_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMaskige'),
    dict(type='LoadClipAnnotations'),
    dict(type='LoadClipAudio'),
    dict(type='ClipResize', scale=scale, keep_ratio=False),
    dict(type='ClipTransformBroadcaster', transforms=[dict(type='RandomFlip', prob=0.5)]),
    dict(type='PackAVSInputs'),
]
test_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMaskige'),
    dict(type='LoadClipAnnotations'),
    dict(type='LoadClipAudio'),
    dict(type='ClipResize', scale=scale, keep_ratio=False, update_ori_shape=True),
    dict(type='PackAVSInputs'),
]
train_dataloader = dict(batch_size=2, num_workers=0, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='AVSBinaryMetric', fscore_batch_clips=2)
test_evaluator = val_evaluator

model = dict(
    audio_backbone=dict(channels=(4, 8), out_channels=16),
    backbone=dict(backbone=dict(stem_channels=8, base_channels=8), in_channels=[8, 16, 32, 64], gate_ratio=2),
    decode_head=dict(
        in_channels=[8, 16, 32, 64],
        feat_channels=channels,
        out_channels=channels,
        num_queries=4,
        pixel_decoder=dict(
            norm_cfg=dict(type='GN', num_groups=4),
            encoder=dict(
                layer_cfg=dict(
                    self_attn_cfg=dict(embed_dims=channels, num_heads=2),
                    ffn_cfg=dict(embed_dims=channels, feedforward_channels=2 * channels))),
            positional_encoding=dict(num_feats=channels // 2)),
        positional_encoding=dict(num_feats=channels // 2),
        transformer_decoder=dict(
            layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=channels, num_heads=2),
                cross_attn_cfg=dict(embed_dims=channels, num_heads=2),
                ffn_cfg=dict(embed_dims=channels, feedforward_channels=2 * channels))),
        audio_channels=16,
        audio_mlp_channels=64,
        fusion=dict(embed_dims=channels, num_heads=2),
        train_cfg=dict(num_points=256)))

max_iters = 8
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=2)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=2, max_keep_ckpts=2, save_best='mJ', rule='greater'))
env_cfg = dict(cudnn_benchmark=False)
