# PSOS, stage 1 of the two-stage methods (seed 001 "CMMS" §3.1 and BAVS §III-B share it): Mask2Former over K object
# categories plus no-object, visual only, with the silent-object-aware loss. ResNet-50 (ImageNet) backbone, the
# backbone ablation of seed 001 Tables 7/8 and BAVS Table IV (their main model is Swin-B).
# Choices (configs/../shared spec sheets seed001.md §1.1 / §2 and bavs.md §1.2 / §2; [P] paper, [R] recommendation):
#   - Mask2Former [R]: MSDeformAttn pixel decoder (6 layers, 256 ch), 9 masked-attention decoder layers (8 heads,
#     FFN 2048), mask features at stride 4, deep supervision on all 10 predictions; N = 100 queries [P];
#   - K + 1 classes, background is no instance [P]; K = 23, the S4 categories of preprocess_s4.py (s4_categories);
#   - losses: class CE 1 with no-object weight 0.1 [R], mask focal 20 + dice 1 [P] (mmdet FocalLoss on the
#     point-sampled soft targets, equal-shape path), L_soas weight 1 [P] on the Hungarian-unmatched queries [R] of
#     every decoder layer [R]; matching costs class 1 / focal 20 / dice 1 [R] on 12544 points;
#   - ResNet-50 with frozen BN (as mmdet's Mask2Former R-50) from torchvision ImageNet weights.
# Local weight file (nothing is downloaded): pretrained/resnet50-19c8e357.pth (set init_cfg=None for random weights).
s4_categories = (
    'baby_laughter', 'female_singing', 'male_speech', 'dog_barking', 'cat_meowing', 'lions_roaring',
    'horse_clip-clop', 'coyote_howling', 'mynah_bird_singing', 'playing_acoustic_guitar', 'playing_tabla',
    'playing_violin', 'playing_piano', 'playing_ukulele', 'playing_glockenspiel', 'helicopter', 'race_car',
    'driving_buses', 'ambulance_siren', 'typing_on_computer_keyboard', 'chainsawing_trees', 'cap_gun_shooting',
    'lawn_mowing')
num_categories = len(s4_categories)
data_preprocessor = dict(
    type='AVSDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255,
    size=(224, 224),
    test_cfg=dict(size_divisor=32))
model = dict(
    type='PSOSSegmentor',
    data_preprocessor=data_preprocessor,
    audio_backbone=None,  # stage 1 sees no audio (the packed audio passes through unused)
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
        type='PSOSHead',
        in_channels=[256, 512, 1024, 2048],
        strides=[4, 8, 16, 32],
        feat_channels=256,
        out_channels=256,
        num_classes=num_categories,
        num_queries=100,
        num_transformer_feat_level=3,
        align_corners=False,
        ignore_index=255,
        pixel_decoder=dict(
            type='mmdet.MSDeformAttnPixelDecoder',
            num_outs=3,
            norm_cfg=dict(type='GN', num_groups=32),
            act_cfg=dict(type='ReLU'),
            encoder=dict(
                num_layers=6,
                layer_cfg=dict(
                    self_attn_cfg=dict(
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
        transformer_decoder=dict(
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
        loss_cls=dict(
            type='mmdet.CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            reduction='mean',
            class_weight=[1.0] * num_categories + [0.1]),  # K categories, no-object last
        loss_mask=dict(type='mmdet.FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=20.0),
        loss_dice=dict(
            type='mmdet.DiceLoss',
            use_sigmoid=True,
            activate=True,
            reduction='mean',
            naive_dice=True,
            eps=1.0,
            loss_weight=1.0),
        loss_soas=dict(type='SilentObjectAwareLoss', loss_weight=1.0),  # None: the "w/o L_soas" ablation
        soas_layers='all',
        soas_set='unmatched',
        silent_exclusion=False,  # BAVS's L_cls: True (needs silent_labels metainfo)
        output='binary',  # top-1 prediction scored by AVSBinaryMetric ("w/o AVSC")
        instance_filter='category_score',
        train_cfg=dict(
            num_points=12544,
            oversample_ratio=3.0,
            importance_sample_ratio=0.75,
            assigner=dict(
                type='mmdet.HungarianAssigner',
                match_costs=[
                    dict(type='mmdet.ClassificationCost', weight=1.0),
                    dict(type='mmdet.FocalLossCost', weight=20.0, binary_input=True),
                    dict(type='mmdet.DiceCost', weight=1.0, pred_act=True, eps=1.0)
                ]),
            sampler=dict(type='mmdet.MaskPseudoSampler'))),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
