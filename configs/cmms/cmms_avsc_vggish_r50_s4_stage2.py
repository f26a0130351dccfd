# CMMS (seed 001) stage 2 (AVSC) on AVSBench S4 with the ImageNet ResNet-50 PSOS and the VGGish audio encoder
# (Tables 7/8: "Ours R50" S4 J 77.02 / F 85.24, batch 20 [P]).
# Stage 1 (cmms_psos_r50-in1k_s4_stage1.py) is frozen and runs online inside AVSCSegmentor: copy its best val
# checkpoint to `stage1_checkpoint` below (or --cfg-options model.stage1_checkpoint=PATH). The stage-2 checkpoint
# holds every weight, so tools/test.py needs only it (a missing stage1_checkpoint / VGGish file is then dropped).
# Audio: the official VGGish log-mel examples (LoadClipAudio, the base pipeline) -> frozen VGGish -> [N, 128].
# AVSC: MLP 128 -> 512 -> 23 with a per-category sigmoid (A3), Eq. 1 sum, L_avc (BCE) on the labelled frame [P].
# Recipe (seed001.md §3): Adam lr 1e-3 [P], batch 20 [P, Tables 7/8], no weight decay / constant lr [R], about 20
# epochs (3460 iterations over the 3452 labelled train frames, a guess [R]), validation every epoch keeping the best
# val mJ [R]; no geometric augmentation (stage 2 reads masks at the 224 test size, §6.3).
_base_ = ['./cmms_psos_r50-in1k_s4_stage1.py']
train_pipeline = [
    *_base_.loading,
    dict(type='ClipSelectLabelledFrames'),  # S4: L_avc on frame 1 only, as stage 1
    dict(type='ClipResize', scale=_base_.crop_size, keep_ratio=False),
    dict(type='PackAVSInputs'),
]
total_batch_size = 20
train_dataloader = dict(batch_size=total_batch_size, dataset=dict(pipeline=train_pipeline))
val_evaluator = dict(_delete_=True, type='AVSBinaryMetric', fscore_batch_clips=4)
test_evaluator = val_evaluator
num_categories = 23
model = dict(
    type='AVSCSegmentor',
    stage1_checkpoint='checkpoints/cmms_psos_r50-in1k_s4_stage1.pth',
    instance_source='online',
    backbone=dict(init_cfg=None),  # every stage-1 weight comes from stage1_checkpoint
    audio_backbone=dict(_delete_=True, type='VGGish', pretrained='pretrained/vggish-10086976.pth', freeze=True),
    freeze_audio_backbone=True,
    avsc_head=dict(
        type='AVSCHead', num_classes=num_categories, in_channels=128, hidden_channels=(512, ),
        activation='sigmoid', compose='sum', loss_weight=1.0))

iters_per_epoch = 173  # ceil(3452 / 20)
max_iters = 20 * iters_per_epoch
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3, weight_decay=0.0))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=iters_per_epoch)
default_hooks = dict(checkpoint=dict(interval=iters_per_epoch))
