# AUSS (Ling et al., "Hear to Segment: Unmixing the Audio to Guide the Semantic Segmentation") with ResNet-50.
# Paper / spec sheet (../shared/reference/methods/auss.md; docs/auss.md lists every choice and its tag):
#   - audio: VGGish [T, 128] per clip, frozen; A2U = space projector W1 (300 x 5) . A . W2 (128 x 256), no bias,
#     then 6 vanilla post-norm transformer-encoder layers (8 heads, FFN 2048, dropout 0.1) -> 300 queries per clip,
#     shared by the clip's 5 frames;
#   - Mask2Former (as the paper builds on it): MSDeformAttn pixel decoder (6 layers, 256 ch), 6 masked-attention
#     decoder layers (round robin 1/32, 1/16, 1/8), learnable query positions, deep supervision; Eq. 12 mask head
#     (one linear g3 x 1x1-conv h); classes {sound, silent};
#   - losses (Eq. 19): 2 AQDL + 2 AQML + 5 focal class + 5 dice; Hungarian matching class 2 / mask BCE 5 / dice 5 on
#     12544 points; delta rising 0.55 -> 0.65 (DeltaScheduleHook in the configs).
# The paper's backbones are ResNet-101 and Swin-B; R50 is here for comparison with the AVSBench/COMBO R50 models.
#
# Local weight files (nothing is downloaded):
#   pretrained/resnet50-19c8e357.pth   torchvision ResNet-50 ImageNet weights
#   pretrained/vggish-10086976.pth     torchvggish VGGish weights (frozen)
data_preprocessor = dict(
    type='AVSDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255,
    size=(224, 224),
    test_cfg=dict(size_divisor=32))
num_queries = 300
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
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        contract_dilation=False,
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/resnet50-19c8e357.pth')),
    decode_head=dict(
        type='AUSSHead',
        in_channels=[256, 512, 1024, 2048],
        strides=[4, 8, 16, 32],
        feat_channels=256,
        out_channels=256,
        num_classes=2,
        num_queries=num_queries,
        num_transformer_feat_level=3,
        align_corners=False,
        ignore_index=255,
        audio_channels=128,
        unmixing=dict(
            type='AudioUnmixing',
            num_frames=5,
            use_number_proj=True,  # Table 4: False = dimension projector only (N = T = 5)
            num_layers=6,  # Table 4: 0 = projector without the dependency catcher
            num_heads=8,
            feedforward_channels=2048,
            dropout=0.1,
            second_norm=True),
        mask_head='linear',
        pixel_decoder=dict(
            type='mmdet.MSDeformAttnPixelDecoder',
            num_outs=3,
            norm_cfg=dict(type='GN', num_groups=32),
            act_cfg=dict(type='ReLU'),
            encoder=dict(
                num_layers=6,
                layer_cfg=dict(
                    self_attn_cfg=dict(embed_dims=256, num_heads=8, num_levels=3, num_points=4, im2col_step=64,
                                       dropout=0.0, batch_first=True, norm_cfg=None, init_cfg=None),
                    ffn_cfg=dict(embed_dims=256, feedforward_channels=1024, num_fcs=2, ffn_drop=0.0,
                                 act_cfg=dict(type='ReLU', inplace=True))),
                init_cfg=None),
            positional_encoding=dict(num_feats=128, normalize=True),
            init_cfg=None),
        enforce_decoder_input_project=False,
        positional_encoding=dict(num_feats=128, normalize=True),
        transformer_decoder=dict(
            return_intermediate=True,
            num_layers=6,
            layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=256, num_heads=8, attn_drop=0.0, proj_drop=0.0, dropout_layer=None,
                                   batch_first=True),
                cross_attn_cfg=dict(embed_dims=256, num_heads=8, attn_drop=0.0, proj_drop=0.0, dropout_layer=None,
                                    batch_first=True),
                ffn_cfg=dict(embed_dims=256, feedforward_channels=2048, num_fcs=2,
                             act_cfg=dict(type='ReLU', inplace=True), ffn_drop=0.0, dropout_layer=None,
                             add_identity=True)),
            init_cfg=None),
        loss_cls=dict(type='SoftmaxFocalLoss', gamma=2.0, class_weight=[1.0, 1.0], loss_weight=5.0),
        loss_mask=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True, reduction='mean', loss_weight=5.0),
        use_mask_loss=False,  # the paper lists focal + dice only
        loss_dice=dict(type='mmdet.DiceLoss', use_sigmoid=True, activate=True, reduction='mean', naive_dice=True,
                       eps=1.0, loss_weight=5.0),
        loss_aqdl=dict(type='AudioQueryDistanceLoss', d0=25.6, pair_mean=False, loss_weight=2.0),
        loss_aqml=dict(type='AudioQueryMaskLoss', pair_mean=False, loss_weight=2.0),
        delta=0.55,
        score_scale=1.0,
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
