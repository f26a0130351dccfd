# COMBO official recipe for S4 and AVSS (detectron2 solver): AdamW lr 1e-4, weight decay 0.05 (none on norm
# layers and on query/level embeddings, the Mask2Former defaults COMBO inherits), backbone lr x0.1 (every
# module whose name contains "backbone", as detectron2's BACKBONE_MULTIPLIER matches it: the visual backbone,
# the Maskige backbone and the audio backbone), poly decay (power 0.9) to 0 over 90k iterations without
# warm-up, and clipping of the gradient norm of the full model at 0.01. AVSS additionally trains with AMP
# (set optim_wrapper.type='AmpOptimWrapper' in the AVSS config or pass --amp).
# The official runs train on one GPU with 8 clips per iteration: tools/train.py divides total_batch_size over the
# processes, so `tools/dist_train.sh CONFIG N` keeps the total at 8 (and the lr and iteration count valid).
# Change the batch with --cfg-options total_batch_size=B (not train_dataloader.batch_size).
total_batch_size = 8
optim_wrapper = dict(
    type='OptimWrapper',
    # norm_decay_mult must also reach the backbone norms that the 'backbone' key matches (mmengine's default
    # constructor skips the norm rule for custom-key matches; detectron2 does not)
    constructor='NormDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    clip_grad=dict(max_norm=0.01, norm_type=2),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        custom_keys={
            'backbone': dict(lr_mult=0.1),
            'query_embed': dict(lr_mult=1.0, decay_mult=0.0),
            'query_feat': dict(lr_mult=1.0, decay_mult=0.0),
            'level_embed': dict(lr_mult=1.0, decay_mult=0.0),
            # COMBO's Maskige gates live outside its backbone (full lr); the BFM's audio_pos is an embedding
            'backbone.gates': dict(lr_mult=1.0, decay_mult=1.0),
            'audio_pos': dict(lr_mult=1.0, decay_mult=0.0),
        }))
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=90000, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=90000, val_interval=5000)
# Official model selection: validate every 5000 iterations (MS3: 400), keep the best checkpoint on val and report
# the test numbers of that checkpoint (best_mJ_iter_*.pth; AVSS configs select on mIoU).
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5000, max_keep_ckpts=3, save_best='mJ',
                    rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # per-frame overlays named {clip_id}_{frame_idx}; off unless tools/test.py --show/--show-dir
    visualization=dict(type='AVSVisualizationHook', draw=False, interval=50))
log_processor = dict(by_epoch=False)
