# CMMS stage 2 on AVSBench MS3 with the ImageNet ResNet-50 PSOS and VGGish (Tables 7/8: "Ours R50" MS3 J 49.58 /
# F 61.51, batch 20 [P]). Stage 1 = cmms_psos_r50-in1k_ms3_stage1.py (K = 70 AVSS classes). L_avc uses the binary
# MS3 masks (AVSBenchMS3Dataset, all 5 frames labelled); everything else as cmms_avsc_vggish_r50_s4_stage2.py:
# Adam 1e-3, batch 20 clips' frames -> 4 clips x 5 frames, about 20 epochs (74 iterations each over 296 clips).
_base_ = ['./cmms_psos_r50-in1k_ms3_stage1.py']
data_root = 'data/AVSBench_object/Multi-sources'
train_pipeline = [
    *_base_.loading,
    dict(type='ClipResize', scale=_base_.crop_size, keep_ratio=False),
    dict(type='PackAVSInputs'),
]
total_batch_size = 4  # clips x 5 labelled frames = 20 frames
train_dataloader = dict(
    batch_size=total_batch_size,
    dataset=dict(_delete_=True, type='AVSBenchMS3Dataset', data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_evaluator = dict(_delete_=True, type='AVSBinaryMetric', fscore_batch_clips=4)
test_evaluator = val_evaluator
model = dict(
    type='AVSCSegmentor',
    stage1_checkpoint='checkpoints/cmms_psos_r50-in1k_ms3_stage1.pth',
    instance_source='online',
    backbone=dict(init_cfg=None),
    audio_backbone=dict(_delete_=True, type='VGGish', pretrained='pretrained/vggish-10086976.pth', freeze=True),
    freeze_audio_backbone=True,
    avsc_head=dict(
        type='AVSCHead', num_classes=_base_.num_categories, in_channels=128, hidden_channels=(512, ),
        activation='sigmoid', compose='sum', loss_weight=1.0))
iters_per_epoch = 74  # ceil(296 / 4)
max_iters = 20 * iters_per_epoch
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3, weight_decay=0.0))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=iters_per_epoch)
default_hooks = dict(checkpoint=dict(interval=iters_per_epoch))
