# COMBO (Yang et al., CVPR 2024, "Cooperation Does Matter") with ResNet-50 Siam-encoders.
# Defaults are the official S4 setting (yannqi/COMBO-AVS configs/avs_s4/COMBO_R50_bs8_90k.yaml):
#   - Siam-Encoder: image and Maskige ResNet-50s with separate weights (both start from the same ImageNet
#     weights), SE channel gate (GAP -> C/16 -> C, sigmoid) on the Maskige features added at all 4 stages;
#     detectron2's default FrozenBN (affine and statistics frozen) = BN requires_grad=False + norm_eval=True;
#   - head: Mask2Former (MSDeformAttn pixel decoder 6 layers / 256 ch, 100 queries, 9 masked-attention decoder
#     layers, deep supervision), BFM on the 256-ch stride-4 mask features, audio MLP 128->4096->4096->256 added
#     to the learnable queries, 2 classes (background / object);
#   - losses: class CE 2 (no-object 0.1), mask BCE 5, dice 5 on 12544 points; adaptive inter-frame loss
#     lambda_ada=10 on every decoder prediction but the last.
# AVSS: num_classes=71 (class_weight [1.0]*71+[0.1]) and lambda_ada=5 (see configs/combo/combo_r50_avss.py).
#
# Local weight files (nothing is downloaded):
#   pretrained/resnet50-19c8e357.pth   torchvision ResNet-50 ImageNet weights (COMBO's detectron2 R-50.pkl is
#                                      the same torchvision network converted; mmseg's ResNet style='pytorch'
#                                      has torchvision's parameter names).
#   pretrained/vggish-10086976.pth     torchvggish VGGish weights (frozen).
# Set a path to None to start from random weights (e.g. for smoke tests).
data_preprocessor = dict(
    type='AVSDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=False,  # frames and Maskiges are loaded as RGB
    pad_val=0,
    seg_pad_val=255,
    size=(224, 224),  # training crops are padded to 224 (COMBO's mapper pads smaller crops)
    aux_image_keys=('maskige', ),  # normalised and padded like the frames, for the Siam-Encoder
    test_cfg=dict(size_divisor=32))
model = dict(
    type='AudioVisualSegmentor',
    backbone_extra_inputs=('maskige', ),  # the Siam-Encoder's second input
    data_preprocessor=data_preprocessor,
    audio_backbone=dict(type='VGGish', pretrained='pretrained/vggish-10086976.pth', freeze=True),
    backbone=dict(
        type='SiamEncoder',
        backbone=dict(
            type='ResNet',
            depth=50,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            dilations=(1, 1, 1, 1),
            strides=(1, 2, 2, 2),
            style='pytorch',  # STRIDE_IN_1X1: False
            norm_cfg=dict(type='BN', requires_grad=False),
            norm_eval=True,
            frozen_stages=-1,  # FREEZE_AT: 0
            contract_dilation=False,
            with_cp=False,  # per-block gradient checkpointing (saves memory, e.g. AVSS on 24 GB)
            init_cfg=dict(type='Pretrained', checkpoint='pretrained/resnet50-19c8e357.pth')),
        in_channels=[256, 512, 1024, 2048],
        use_maskige=True,
        share_weights=False,
        gate_type='se',
        gate_ratio=16,
        with_cp=False),
    decode_head=dict(
        type='COMBOHead',
        in_channels=[256, 512, 1024, 2048],
        strides=[4, 8, 16, 32],
        feat_channels=256,
        out_channels=256,
        num_classes=2,
        num_queries=100,
        num_transformer_feat_level=3,
        align_corners=False,
        ignore_index=255,
        pixel_decoder=dict(
            type='mmdet.MSDeformAttnPixelDecoder',
            num_outs=3,
            norm_cfg=dict(type='GN', num_groups=32),
            act_cfg=dict(type='ReLU'),
            encoder=dict(  # Mask2FormerTransformerEncoder
                num_layers=6,
                layer_cfg=dict(
                    self_attn_cfg=dict(  # MultiScaleDeformableAttention
                        embed_dims=256,
                        num_heads=8,
                        num_levels=3,
                        num_points=4,
                        im2col_step=64,
                        dropout=0.0,
                        batch_first=True,
                        norm_cfg=None,
                        init_cfg=None),
                    ffn_cfg=dict(
                        embed_dims=256,
                        feedforward_channels=1024,
                        num_fcs=2,
                        ffn_drop=0.0,
                        act_cfg=dict(type='ReLU', inplace=True))),
                init_cfg=None),
            positional_encoding=dict(num_feats=128, normalize=True),
            init_cfg=None),
        enforce_decoder_input_project=False,
        positional_encoding=dict(num_feats=128, normalize=True),
        transformer_decoder=dict(  # Mask2FormerTransformerDecoder
            return_intermediate=True,
            num_layers=9,
            layer_cfg=dict(
                self_attn_cfg=dict(
                    embed_dims=256, num_heads=8, attn_drop=0.0, proj_drop=0.0, dropout_layer=None,
                    batch_first=True),
                cross_attn_cfg=dict(
                    embed_dims=256, num_heads=8, attn_drop=0.0, proj_drop=0.0, dropout_layer=None,
                    batch_first=True),
                ffn_cfg=dict(
                    embed_dims=256,
                    feedforward_channels=2048,
                    num_fcs=2,
                    act_cfg=dict(type='ReLU', inplace=True),
                    ffn_drop=0.0,
                    dropout_layer=None,
                    add_identity=True)),
            init_cfg=None),
        audio_channels=128,
        audio_mlp_channels=4096,
        audio_mlp_layers=3,
        fusion=dict(
            type='BilateralFusion',
            embed_dims=256,
            num_heads=8,
            dropout=0.1,
            mode='bilateral',  # 'none' / 'visual' / 'audio' / 'bilateral' (paper Table 5)
            layer_scale_init=1e-4,
            visual_softmax='spatial',
            positional_encoding=dict(normalize=True)),
        query_fuse='add',  # 'add' / 'all' (paper Table 6)
        loss_ada=dict(type='AdaptiveInterFrameLoss', loss_weight=10.0),
        ada_loss_layers=None,  # every prediction but the last (official "intermediate layers")
        with_cp=False,
        fp32_pixel_decoder=True,  # official: the pixel decoder runs in fp32 under AMP (AVSS)
        loss_cls=dict(
            type='mmdet.CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=2.0,
            reduction='mean',
            class_weight=[1.0, 1.0, 0.1]),  # [1.0] * num_classes + [no-object 0.1]
        loss_mask=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True, reduction='mean', loss_weight=5.0),
        loss_dice=dict(
            type='mmdet.DiceLoss',
            use_sigmoid=True,
            activate=True,
            reduction='mean',
            naive_dice=True,
            eps=1.0,
            loss_weight=5.0),
        train_cfg=dict(
            num_points=12544,
            oversample_ratio=3.0,
            importance_sample_ratio=0.75,
            assigner=dict(
                type='mmdet.HungarianAssigner',
                match_costs=[
                    dict(type='mmdet.ClassificationCost', weight=2.0),
                    dict(type='mmdet.CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
                    dict(type='mmdet.DiceCost', weight=5.0, pred_act=True, eps=1.0)
                ]),
            sampler=dict(type='mmdet.MaskPseudoSampler'))),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
