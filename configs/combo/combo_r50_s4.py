# COMBO (Yang et al., CVPR 2024) ResNet-50 on AVSBench-object S4: official recipe
# (configs/avs_s4/COMBO_R50_bs8_90k.yaml).
# AdamW 1e-4, weight decay 0.05, backbone lr x0.1, poly, full-model gradient clip 0.01, 8 clips per batch,
# 90k iterations, 224 crops with COMBO's multi-scale augmentation and the Maskige of every frame (dataset base),
# no AMP. Paper and measured numbers: configs/combo/README.md.
_base_ = [
    '../_base_/models/combo_r50.py', '../_base_/datasets/avsbench_s4_maskige.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_poly_90k.py'
]
train_dataloader = dict(batch_size=8)
# COMBO tests one video per batch (detectron2 test loader), so its M_F maximum is taken per clip.
val_evaluator = dict(fscore_batch_clips=1)
test_evaluator = val_evaluator
