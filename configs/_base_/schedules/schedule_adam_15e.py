# AVSBench/TPAVI official S4 recipe (avs_s4/train.py): Adam, lr 1e-4, no weight decay (--wt_dec is parsed but
# never passed to the optimizer), no learning-rate schedule, 15 epochs (the --max_epoches default; train.sh does
# not change it), validation after every epoch and the best checkpoint kept on the validation Jaccard (mJ).
# The official runs use one process (DataParallel) with 4 clips per batch: tools/train.py divides total_batch_size
# over the processes, so `tools/dist_train.sh CONFIG N` keeps 4 clips per step (--cfg-options total_batch_size=B).
total_batch_size = 4
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, weight_decay=0.0))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=15, val_interval=1)
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
