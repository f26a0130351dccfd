# COMBO (Yang et al., CVPR 2024) PVT-v2-b5 on AVSBench-semantic (AVSS, 71 classes): official recipe
# (configs/avs_ss/COMBO_PVTV2B5_bs8_90k.yaml): as S4 plus AMP; 8 clips (x10 frames, padded ones included) per batch,
# 90k iterations. lambda_ada = 5 as in the paper (sec. 4.2, Table 7; the released yaml has COSINE_WEIGHT 10).
# Training augmentation: the dataset's short-side-224 resize + 224 centre crop (the official offline
# preprocessing), then COMBO's AVSS mapper: SSD colour jitter and horizontal flip.
# Memory: the official run used one A100-40G; on a 24 GB GPU add gradient checkpointing, e.g.
#   --cfg-options model.backbone.with_cp=True model.decode_head.with_cp=True
# Paper: 42.1 mIoU / 46.1 mF.
_base_ = [
    '../_base_/models/combo_pvt.py', '../_base_/datasets/avsbench_semantic.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_poly_90k.py'
]
num_classes = 71
model = dict(
    decode_head=dict(
        num_classes=num_classes,
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1]),
        loss_ada=dict(loss_weight=5.0)))
# The dataset pipelines with the Maskige loaded right after the frames (every clip transform moves it with
# them); training adds COMBO's AVSS augmentation after the crop.
train_pipeline = [
    _base_.train_pipeline[0],
    dict(type='LoadClipMaskige'),
    *_base_.train_pipeline[1:-1],
    dict(type='ClipPhotoMetricDistortion'),
    dict(type='ClipTransformBroadcaster', transforms=[dict(type='RandomFlip', prob=0.5)]),
    _base_.train_pipeline[-1],
]
test_pipeline = [_base_.test_pipeline[0], dict(type='LoadClipMaskige'), *_base_.test_pipeline[1:]]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
optim_wrapper = dict(
    type='AmpOptimWrapper',  # official AMP: ENABLED True for AVSS
    loss_scale='dynamic',
    paramwise_cfg=dict(
        custom_keys={
            'backbone.gates': dict(lr_mult=1.0, decay_mult=1.0),
            'audio_pos': dict(lr_mult=1.0, decay_mult=0.0),
        }))
