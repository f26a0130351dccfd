# COMBO (Yang et al., CVPR 2024) with PVT-v2-b5 Siam-encoders: combo_r50.py with the official
# build_pvtv2_b5_backbone (embed dims 64/128/320/512, depths 3/6/40/3, mlp ratio 4, drop path 0.1, LN eps 1e-6
# in blocks and stage norms, 1e-5 in patch-embedding and spatial-reduction norms), here avsseg's PVTv2 (mmdet's
# PyramidVisionTransformerV2 with those eps; 81.44M parameters per encoder).
#
# Local weight files (nothing is downloaded):
#   pretrained/pvt_v2_b5.pth   official PVT-v2 ImageNet weights; mmdet's PyramidVisionTransformerV2 converts their
#                              keys when loading (COMBO's d2_pvt_v2_b5.pkl is the same weights).
_base_ = ['./combo_r50.py']
model = dict(
    backbone=dict(
        backbone=dict(
            _delete_=True,
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
        in_channels=[64, 128, 320, 512]),
    decode_head=dict(in_channels=[64, 128, 320, 512]))
