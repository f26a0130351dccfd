# CMMS stage 2 on AVSBench MS3, the paper's main setting (Table 1: MS3 J 59.5 / F 65.74): Swin-B PSOS (K = 70 AVSS
# classes, trained by cmms_psos_swin-b-coco_ms3_stage1.py from a COCO Mask2Former) and frozen BEATs, as
# cmms_avsc_beats_swin-b_s4_stage2.py. Binary MS3 masks for L_avc, all 5 frames labelled; batch 64 frames [P] ->
# 13 clips x 5 frames (65), about 20 epochs (23 iterations each over 296 clips).
_base_ = ['./cmms_avsc_beats_swin-b_s4_stage2.py']
data_root = 'data/AVSBench_object/Multi-sources'
num_categories = 70
train_pipeline = [
    *_base_.loading,
    dict(type='ClipResize', scale=_base_.crop_size, keep_ratio=False),
    dict(type='PackAVSInputs'),
]
total_batch_size = 13
train_dataloader = dict(
    batch_size=total_batch_size,
    dataset=dict(_delete_=True, type='AVSBenchMS3Dataset', data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type='AVSBenchMS3Dataset', data_root=data_root))
test_dataloader = dict(dataset=dict(type='AVSBenchMS3Dataset', data_root=data_root))
model = dict(
    stage1_checkpoint='checkpoints/cmms_psos_swin-b-coco_ms3_stage1.pth',
    decode_head=dict(num_classes=num_categories, loss_cls=dict(class_weight=[1.0] * num_categories + [0.1])),
    avsc_head=dict(num_classes=num_categories))
iters_per_epoch = 23  # ceil(296 / 13)
max_iters = 20 * iters_per_epoch
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=iters_per_epoch)
default_hooks = dict(checkpoint=dict(interval=iters_per_epoch))
