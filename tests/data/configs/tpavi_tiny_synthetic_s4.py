# The README quickstart TPAVI (configs/tpavi/tpavi_tiny_synthetic_s4.py) at the sizes of the tool tests, which
# train it in seconds: 32x32 frames of a synthetic S4 set (tools/dataset_converters/synthetic_avsbench.py OUT
# --subset s4 --image-size 32), the model widths of avsseg.testing.tiny_model_cfg (a test holds the two equal),
# 2 clips per batch, no data loader workers, wav audio, 4 iterations validated and saved every 2 (best on mJ),
# a log line per iteration. Pass the data root with
#   --cfg-options train_dataloader.dataset.data_root=OUT val_dataloader.dataset.data_root=OUT \
#                 test_dataloader.dataset.data_root=OUT
_base_ = ['../../../configs/tpavi/tpavi_tiny_synthetic_s4.py']

scale = (32, 32)
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
    batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(audio_source='wav', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(audio_source='wav', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(fscore_batch_clips=2)
test_evaluator = val_evaluator

model = dict(
    audio_backbone=dict(channels=(4, ), out_channels=16),
    neck=dict(channels=16, audio_channels=16),
    decode_head=dict(in_channels=16, mid_channels=8, channels=8))

max_iters = 4
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=2)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, save_best='mJ', rule='greater'))
env_cfg = dict(cudnn_benchmark=False)
