# AVSBench baseline (TPAVI, Zhou et al. ECCV 2022) with a PVT-v2-b5 visual backbone.
# Defaults are the official S4 setting: binary masks (1 output channel, sigmoid, threshold 0.5), BCE on the
# labelled frames, TPAVI (audio-visual, audio Linear with bias) on all four stages, no AVM loss.
# MS3: decode_head.loss_avm=dict(type='AudioVisualMatchingLoss', stages=(0, 1, 2, 3), loss_weight=0.5,
#      frame_reduction='sum').
# AVSS: decode_head num_classes=71, out_channels=71, loss_decode=dict(type='CrossEntropyLoss', ...,
#      loss_name='loss_ce'), loss_avm with frame_reduction='mean', and neck.align_bias=False.
#
# Local weight files (nothing is downloaded):
#   pretrained/pvt_v2_b5.pth         official PVT-v2 ImageNet weights (whitelai/PVT release); mmdet's
#                                    PyramidVisionTransformerV2 converts their keys when loading.
#   pretrained/vggish-10086976.pth   torchvggish VGGish weights.
# Set a path to None to start from random weights (e.g. for smoke tests).
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='AVSDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=False,  # frames are loaded as RGB
    pad_val=0,
    seg_pad_val=255,
    size_divisor=32)
model = dict(
    type='AudioVisualSegmentor',
    data_preprocessor=data_preprocessor,
    audio_backbone=dict(type='VGGish', pretrained='pretrained/vggish-10086976.pth', freeze=True),
    backbone=dict(
        # mmdet's PVT-v2 with the b5 settings of the official pvt_v2_b5 (81.44M parameters).
        type='PVTv2',  # mmdet's PVT-v2 with the official LayerNorm eps
        embed_dims=64,
        num_layers=[3, 6, 40, 3],
        num_heads=[1, 2, 5, 8],
        mlp_ratios=[4, 4, 4, 4],
        sr_ratios=[8, 4, 2, 1],
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,
        norm_cfg=dict(type='LN', eps=1e-6),  # patch-embedding / SR-attention norms: 1e-5 (official)
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/pvt_v2_b5.pth')),
    neck=dict(
        type='TPAVINeck',
        in_channels=[64, 128, 320, 512],
        channels=256,
        dilations=(3, 6, 12, 18),
        tpavi_stages=(0, 1, 2, 3),
        tpavi_va_flag=True,
        tpavi_vv_flag=False,
        audio_channels=128,
        align_bias=True,
        norm_cfg=dict(type='BN3d', requires_grad=True)),
    decode_head=dict(
        type='AVSBenchHead',
        in_channels=256,
        mid_channels=128,
        channels=32,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        ignore_index=255,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0, loss_name='loss_bce'),
        loss_avm=None),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
