# The PVT-v2-b5 visual backbone of the official AVSBench and COMBO code (pvt_v2_b5 / build_pvtv2_b5_backbone):
# embed dims 64/128/320/512, depths 3/6/40/3, heads 1/2/5/8, mlp ratio 4, SR ratios 8/4/2/1, drop path 0.1,
# LayerNorm eps 1e-6 in blocks and stage norms and 1e-5 in patch-embedding and spatial-reduction norms; avsseg's
# PVTv2 is mmdet's PyramidVisionTransformerV2 with those eps (81.44M parameters).
# Not a model: the PVT variants (_base_/models/{tpavi,combo}_pvt.py, configs/{tpavi,combo}/*_pvt_*.py) list it
# next to their R50 base and put `pvt_v2_b5` in place of the ResNet, `pvt_v2_b5_channels` where the stage widths go.
#
# Local weight file (nothing is downloaded):
#   pretrained/pvt_v2_b5.pth   official PVT-v2 ImageNet weights (whitelai/PVT release; COMBO's d2_pvt_v2_b5.pkl is
#                              the same weights); mmdet's PyramidVisionTransformerV2 converts their keys when loading.
# Set init_cfg=None to start from random weights (e.g. for smoke tests).
pvt_v2_b5 = dict(
    type='PVTv2',
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
    init_cfg=dict(type='Pretrained', checkpoint='pretrained/pvt_v2_b5.pth'))
pvt_v2_b5_channels = [64, 128, 320, 512]
