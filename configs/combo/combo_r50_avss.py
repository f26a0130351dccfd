# COMBO (Yang et al., CVPR 2024) ResNet-50 on AVSBench-semantic (AVSS, 71 classes): official recipe
# (configs/avs_ss/COMBO_R50_bs8_90k.yaml): as S4 plus AMP; 8 clips (x10 frames, padded ones included) per batch,
# 90k iterations. lambda_ada = 5 as in the paper (sec. 4.2, Table 7; the released yaml has COSINE_WEIGHT 10).
# Training augmentation (dataset base): the short-side-224 resize + 224 centre crop (the official offline
# preprocessing), then COMBO's AVSS mapper: SSD colour jitter and horizontal flip; the Maskige of every frame.
# Memory: the official run used one A100-40G; on a 24 GB GPU add gradient checkpointing, e.g.
#   --cfg-options model.backbone.backbone.with_cp=True model.decode_head.with_cp=True
# Paper and measured numbers: configs/combo/README.md.
_base_ = [
    '../_base_/models/combo_r50.py', '../_base_/datasets/avsbench_semantic_maskige.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_poly_90k.py'
]
num_classes = 71
model = dict(
    decode_head=dict(
        num_classes=num_classes,
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1]),
        loss_ada=dict(loss_weight=5.0)))
train_dataloader = dict(batch_size=8)
optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic')  # official AMP: ENABLED True for AVSS
# Official model selection on AVSS: the best checkpoint on val mIoU.
default_hooks = dict(checkpoint=dict(save_best='mIoU'))
