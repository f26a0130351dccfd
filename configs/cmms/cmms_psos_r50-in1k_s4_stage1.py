# CMMS (seed 001) stage 1 on AVSBench S4: PSOS with an ImageNet ResNet-50 (Tables 7/8 backbone ablation), trained on
# the labelled frame of each clip with class-index ground truth from the clip category (ClipCategoryToLabel).
# Recipe (seed001.md §3; [P] paper, [R] recommendation): Adam lr 1e-4 [P], no weight decay and a constant lr [R],
# batch 32 images [P] (= 32 clips, one labelled frame each after ClipSelectLabelledFrames [R], A13), 224x224 input
# [P], no augmentation beyond the resize [R], about 8k iterations (~75 epochs over the 3452 labelled train frames,
# a guess [R], A8), validation every epoch (108 iterations) keeping the best top-1 ("w/o AVSC") val mJ [P]; the
# instance count I (Table 3) is logged by PotentialInstanceMetric next to mJ / mF.
# tools/train.py splits total_batch_size over the processes (tools/dist_train.sh CONFIG N keeps 32 per step).
_base_ = [
    '../_base_/models/psos_r50.py',
    '../_base_/datasets/avsbench_s4.py',
    '../_base_/default_runtime.py',
]
crop_size = (224, 224)
train_pipeline = [
    *_base_.loading,
    dict(type='ClipSelectLabelledFrames'),  # S4 trains on frame 1 only
    dict(type='ClipCategoryToLabel', classes=_base_.s4_categories),
    dict(type='ClipResize', scale=crop_size, keep_ratio=False),
    dict(type='PackAVSInputs'),
]
total_batch_size = 32
train_dataloader = dict(batch_size=total_batch_size, dataset=dict(pipeline=train_pipeline))
val_evaluator = [
    dict(type='AVSBinaryMetric', fscore_batch_clips=4),
    dict(type='PotentialInstanceMetric', classes=_base_.s4_categories),
]
test_evaluator = val_evaluator

max_iters = 8000
iters_per_epoch = 108  # ceil(3452 labelled train frames / 32)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, weight_decay=0.0))
param_scheduler = []
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=iters_per_epoch)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=iters_per_epoch, max_keep_ckpts=1,
                    save_best='mJ', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='AVSVisualizationHook', draw=False, interval=50))
log_processor = dict(by_epoch=False)
