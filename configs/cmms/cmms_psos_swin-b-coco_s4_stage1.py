# CMMS (seed 001) stage 1 on AVSBench S4, the paper's main setting: PSOS with Swin-B, the whole network (backbone,
# pixel decoder, transformer decoder) initialised from a COCO Mask2Former Swin-B except the class head [P] /
# seed001.md §1.1 [R]. Recipe of cmms_psos_r50-in1k_s4_stage1.py (seed001.md §3): Adam lr 1e-4 [P], no weight decay,
# constant lr [R], batch 32 images [P] (32 clips' labelled frame, ClipSelectLabelledFrames), ClipCategoryToLabel,
# 224x224 [P], about 8k iterations [R], validation every epoch keeping the best top-1 val mJ [P], I logged.
#
# Initialisation: convert mmdet's COCO panoptic Swin-B Mask2Former (100 queries, as PSOS; the in21k variant matches
# this backbone's ImageNet-22k start) or detectron2's, once:
#   python tools/model_converters/mask2former2avsseg.py \
#       mask2former_swin-b-p4-w12-384-in21k_8xb2-lsj-50e_coco-panoptic_20220329_230021-05ec7315.pth \
#       pretrained/mask2former_swin-b_coco_psos.pth
# mmengine's load_from is not strict: the class head (K + 1 = 24 outputs, absent from the file) keeps its
# initialisation and is logged as "missing keys in source state_dict: decode_head.cls_embed.weight,
# decode_head.cls_embed.bias"; the converter has already checked every other key and shape against this model.
# load_from is read after the model is built, so a missing file stops the run only then (mmengine's
# FileNotFoundError); `--cfg-options load_from=None` starts from random weights instead.
_base_ = ['./cmms_psos_r50-in1k_s4_stage1.py', '../_base_/models/swin_b_mask2former.py']
model = dict(
    backbone=dict(_delete_=True, **_base_.swin_b_mask2former), decode_head=dict(in_channels=_base_.swin_b_channels))
load_from = 'pretrained/mask2former_swin-b_coco_psos.pth'
