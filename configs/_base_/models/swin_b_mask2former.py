# The Swin-B of mmdet's COCO Mask2Former (mask2former_swin-b-p4-w12-384[-in21k]_8xb2-lsj-50e_coco-panoptic): patch 4,
# window 12, 384 pre-training size, depths 2/2/18/2, heads 4/8/16/32, drop path 0.3. Not a model: psos_swin-b.py
# takes it with the ImageNet-22k backbone file (convert_weights on); seed 001's COCO-initialised stage-1 configs
# (configs/cmms/cmms_psos_swin-b-coco_*_stage1.py) put `swin_b_mask2former` in place of the ResNet of their R50 recipe
# and `swin_b_channels` where the stage widths go. No init_cfg: the whole network, backbone included, comes from
# the converted COCO Mask2Former checkpoint (`load_from`, tools/model_converters/mask2former2avsseg.py), whose keys
# are already mmdet's (so convert_weights stays off).
swin_b_mask2former = dict(
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
    convert_weights=False,
    frozen_stages=-1,
    init_cfg=None)
swin_b_channels = [128, 256, 512, 1024]
