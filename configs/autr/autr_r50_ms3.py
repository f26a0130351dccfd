# AuTR ResNet-50 on AVSBench-object MS3 (seed 002 Tab. 4): the S4 recipe (AdamW 1e-4 / 5e-4, 50 epochs of 8 clips,
# spec sheet A17) on MS3's 5 labelled frames per clip, from ImageNet weights. Paper: M_J 49.4 / M_F .612.
_base_ = [
    '../_base_/models/autr_r50.py', '../_base_/datasets/avsbench_ms3_autr.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_adamw_50e.py'
]
