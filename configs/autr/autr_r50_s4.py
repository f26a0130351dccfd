# AuTR ResNet-50 on AVSBench-object S4 (seed 002 Tab. 4; no synthetic pre-training): frozen ImageNet ResNet-50 and
# AudioSet VGGish, AdamW 1e-4 / weight decay 5e-4, constant lr, gradient clip 0.1, 50 epochs of 8 clips (one
# labelled frame each), 224x224, no augmentation. Paper: M_J 75.0 / M_F .852 (configs/autr/README.md).
_base_ = [
    '../_base_/models/autr_r50.py', '../_base_/datasets/avsbench_s4_autr.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_adamw_50e.py'
]
