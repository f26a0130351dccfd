# PSOS (psos_r50.py) with a Swin-B backbone (mmdet's SwinTransformer, the Mask2Former Swin-B of mmdet: patch 4,
# window 12, 384 pre-training size, drop path 0.3). Seed 001's main setting starts the whole network from a COCO
# Mask2Former [P]; BAVS starts Swin-B from ImageNet [P]. This base loads the backbone only, from a local Swin-B
# ImageNet-22k 384 file in the official (microsoft/Swin-Transformer) layout, which mmdet converts
# (convert_weights=True):
#   pretrained/swin_base_patch4_window12_384_22k.pth
# Seed 001's COCO start of the whole network: configs/cmms/cmms_psos_swin-b-coco_*_stage1.py (docs/psos.md).
_base_ = ['./psos_r50.py']
swin_b_channels = [128, 256, 512, 1024]
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmdet.SwinTransformer',
        pretrain_img_size=384,
        embed_dims=128,
        depths=[2, 2, 18, 2],
        num_heads=[4, 8, 16, 32],
        window_size=12,
        mlp_ratio=4,
        qkv_bias=True,
        qk_scale=None,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.3,
        patch_norm=True,
        out_indices=(0, 1, 2, 3),
        with_cp=False,
        convert_weights=True,
        frozen_stages=-1,
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/swin_base_patch4_window12_384_22k.pth')),
    decode_head=dict(in_channels=swin_b_channels))
