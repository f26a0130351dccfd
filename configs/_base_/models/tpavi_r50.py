# AVSBench baseline (TPAVI, Zhou et al. ECCV 2022) with a ResNet-50 visual backbone (tpavi_pvt.py swaps in PVT-v2-b5).
# Defaults are the official S4 setting: binary masks (1 output channel, sigmoid, threshold 0.5), BCE on the
# labelled frames, TPAVI (audio-visual, audio Linear with bias) on all four stages, no AVM loss.
# MS3: decode_head.loss_avm=dict(type='AudioVisualMatchingLoss', stages=(0, 1, 2, 3), loss_weight=0.5,
#      frame_reduction='sum').
# AVSS: decode_head num_classes=71, out_channels=71, loss_decode=dict(type='CrossEntropyLoss', ...,
#      loss_name='loss_ce'), loss_avm with frame_reduction='mean', and neck.align_bias=False.
#
# The official ResNet-50 (B2_ResNet) is the torchvision layout (stride in the 3x3 conv) plus a second
# layer3/layer4 branch that its forward never uses; mmseg's ResNet v1 (style='pytorch') is that network without
# the dead branch and has torchvision's parameter names, so torchvision ImageNet weights load directly.
#
# Local weight files (nothing is downloaded):
#   pretrained/resnet50-19c8e357.pth   torchvision ResNet-50 ImageNet weights (the file the official code
#                                      uses; any torchvision resnet50 state dict works, `fc.*` is ignored).
#   pretrained/vggish-10086976.pth     torchvggish VGGish weights.
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
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        style='pytorch',
        norm_cfg=norm_cfg,
        norm_eval=False,  # official: BatchNorm trained, statistics updated
        frozen_stages=-1,
        contract_dilation=False,
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/resnet50-19c8e357.pth')),
    neck=dict(
        type='TPAVINeck',
        in_channels=[256, 512, 1024, 2048],
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
