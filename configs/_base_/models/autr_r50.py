# AuTR (Liu et al., "Annotation-free Audio-Visual Segmentation", arXiv v1, seed 002) with a frozen ResNet-50.
# No public AuTR code exists; the parts follow the paper [P], ReferFormer [RF] where the paper leaves a gap (AuTR is
# ReferFormer with text replaced by audio) and the spec sheet's recommendations [REC]
# (shared/reference/methods/autr.md):
#   - visual encoder: ImageNet ResNet-50, frozen (FrozenBackbone: no gradient, eval mode, no_grad) [P §3.3.1, §4.3];
#   - audio encoder: AudioSet VGGish, frozen, the 128-d embedding of each frame's 0.96 s log-mel [P, A3];
#   - AVFF neck: audio MLP 128 -> 256 + LayerNorm, 1x1 conv + GN(32) on stages 2-4, multi-head attention with the
#     visual tokens as queries and the frame's audio token as key/value (8 heads, shared by the 3 levels [RF]),
#     combination `fuse='mul'` (f = v * MHA(v, a, a), ReferFormer's VisionLanguageFusionModule [RF, A4]),
#     `audio_tokens='frame'` (the frame's own audio: the same in T = 1 training and T = 5 testing [REC, A5]);
#   - AuTRHead: deformable multi-modal encoder 4 layers and audio-aware decoder 4 layers (d 256, 8 heads, 4 points,
#     FFN 2048, dropout 0.1 [RF]), 2-D sine + level embedding [A6], N_q = 5 queries per frame from the frame's audio
#     plus learnable positions [P, RF default, A1/A7], CrossModalFPN pixel decoder to stride 4 with C_m = 256 [RF],
#     dynamic 1x1 convs (C_m+2) -> 8 -> 8 -> 1 from a two-layer MLP [P Eq. 1-2], sounding-score head;
#   - matching and losses lambda_sound / lambda_focal / lambda_dice = 2 / 1 / 1 (costs and losses, ReferFormer's
#     opts.py, A2), deep supervision on every decoder layer [RF, A10]; inference keeps the query with the highest
#     clip-mean sounding score (`select='clip'`, A9).
#
# Local weight files (nothing is downloaded):
#   pretrained/resnet50-19c8e357.pth   torchvision ResNet-50 ImageNet weights (mmseg ResNet style='pytorch').
#   pretrained/vggish-10086976.pth     torchvggish VGGish weights (frozen).
# Set a path to None to start from random weights (e.g. for smoke tests).
data_preprocessor = dict(
    type='AVSDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=False,  # frames are loaded as RGB
    pad_val=0,
    seg_pad_val=255,
    size_divisor=32,
    test_cfg=dict(size_divisor=32))
model = dict(
    type='AudioVisualSegmentor',
    data_preprocessor=data_preprocessor,
    audio_backbone=dict(type='VGGish', pretrained='pretrained/vggish-10086976.pth', freeze=True),
    backbone=dict(
        type='FrozenBackbone',
        backbone=dict(
            type='ResNet',
            depth=50,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            dilations=(1, 1, 1, 1),
            strides=(1, 2, 2, 2),
            style='pytorch',
            norm_cfg=dict(type='BN', requires_grad=False),
            norm_eval=True,
            contract_dilation=False),
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/resnet50-19c8e357.pth')),
    neck=dict(
        type='AVFFNeck',
        in_channels=[256, 512, 1024, 2048],
        audio_channels=128,
        channels=256,
        num_heads=8,
        fuse='mul',  # ReferFormer's v * MHA(v, a, a); 'add' is the alternative (A4)
        audio_tokens='frame',  # 'clip': all T audio tokens as keys (A5)
        norm_cfg=dict(type='GN', num_groups=32)),
    decode_head=dict(
        type='AuTRHead',
        in_channels=[256, 256, 256, 256],  # backbone stage 1 (replaced per backbone) and the three fused levels
        feat_channels=256,
        num_classes=2,
        num_queries=5,  # N_q (A1)
        encoder=dict(
            num_layers=4,
            layer_cfg=dict(
                self_attn_cfg=dict(num_heads=8, num_points=4, dropout=0.1),
                ffn_cfg=dict(feedforward_channels=2048, ffn_drop=0.1))),
        decoder=dict(
            num_layers=4,
            layer_cfg=dict(
                self_attn_cfg=dict(num_heads=8, dropout=0.1),
                cross_attn_cfg=dict(num_heads=8, num_points=4, dropout=0.1),
                ffn_cfg=dict(feedforward_channels=2048, ffn_drop=0.1))),
        pixel_decoder=dict(
            type='CrossModalFPN',
            channels=256,
            mask_channels=256,  # C_m
            num_heads=8,
            feedforward_channels=2048,
            dropout=0.1,
            sr_ratios=(8, 4, 2, 1),
            audio_tokens='frame',
            norm_cfg=dict(type='GN', num_groups=8)),
        mask_head=dict(type='DynamicMaskHead', channels=8, num_layers=3, controller_layers=2, rel_coord=True),
        select='clip',  # 'frame': the highest score per frame (A9)
        loss_sound=dict(
            type='mmdet.FocalLoss', use_sigmoid=True, alpha=0.25, gamma=2.0, reduction='mean', loss_weight=2.0),
        loss_mask=dict(type='SigmoidFocalMaskLoss', alpha=0.25, gamma=2.0, loss_weight=1.0),
        loss_dice=dict(
            type='mmdet.DiceLoss',
            use_sigmoid=True,
            activate=False,
            naive_dice=True,
            eps=1.0,
            reduction='mean',
            loss_weight=1.0),
        train_cfg=dict(
            assigner=dict(
                type='mmdet.HungarianAssigner',
                match_costs=[
                    dict(type='ClipSoundingCost', alpha=0.25, gamma=2.0, weight=2.0),
                    dict(type='mmdet.FocalLossCost', alpha=0.25, gamma=2.0, binary_input=True, weight=1.0),
                    dict(type='DiceCoefficientCost', eps=1.0, weight=1.0),
                ]))),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
