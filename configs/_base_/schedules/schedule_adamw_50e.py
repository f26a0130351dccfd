# AuTR's AVSBench recipe (seed 002 §4.3): AdamW, lr 1e-4, weight decay 5e-4 (both ReferFormer's opts.py defaults),
# 50 epochs, batch 8, one GPU; both backbones frozen (in the model). The paper names no learning-rate schedule,
# warm-up or gradient clipping (spec sheet A11): constant lr and ReferFormer's gradient clip (max norm 0.1).
# Validation after every epoch, the best checkpoint kept on the validation Jaccard (mJ).
# tools/train.py divides total_batch_size over the processes, so `tools/dist_train.sh CONFIG N` keeps 8 clips a step.
total_batch_size = 8
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=5e-4),
    clip_grad=dict(max_norm=0.1, norm_type=2))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=1, save_best='mJ',
                    rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # per-frame overlays named {clip_id}_{frame_idx}; off unless tools/test.py --show/--show-dir
    visualization=dict(type='AVSVisualizationHook', draw=False, interval=50))
log_processor = dict(by_epoch=True)
