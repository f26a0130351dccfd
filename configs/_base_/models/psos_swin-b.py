# PSOS (psos_r50.py) with a Swin-B backbone (mmdet's SwinTransformer, the Mask2Former Swin-B of mmdet: patch 4,
# window 12, 384 pre-training size, drop path 0.3). Seed 001's main setting starts the whole network from a COCO
# Mask2Former [P]; BAVS starts Swin-B from ImageNet [P]. This base loads the backbone only, from a local Swin-B
# ImageNet-22k 384 file in the official (microsoft/Swin-Transformer) layout, which mmdet converts
# (convert_weights=True):
#   pretrained/swin_base_patch4_window12_384_22k.pth
# Seed 001's COCO start of the whole network: configs/cmms/cmms_psos_swin-b-coco_*_stage1.py (docs/psos.md).
_base_ = ['./psos_r50.py', './swin_b_mask2former.py']
model = dict(
    backbone=dict(
        _base_.swin_b_mask2former,
        _delete_=True,
        convert_weights=True,
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/swin_base_patch4_window12_384_22k.pth')),
    decode_head=dict(in_channels=_base_.swin_b_channels))
