# AUSS ResNet-50 on AVSBench-object S4: the paper's recipe (sec. 4.2) with R50 (the paper's are R101 and Swin-B).
# AdamW 1e-4, weight decay 0.05, backbone lr x0.1, poly 90k iterations, clip 0.01, 8 clips per batch; the dataset
# base's augmentation (scale jitter 0.5-2.0, 224 crops, colour jitter, flip) = the MMSeg recipe the paper cites.
# All 5 frames are decoded: class/dice on frame 1 (the labelled one), AQDL/AQML on all 5 (see docs/auss.md).
# Paper and measured numbers: configs/auss/README.md.
_base_ = [
    '../_base_/models/auss_r50.py', '../_base_/datasets/avsbench_s4.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_poly_90k.py'
]
# Eq. 22: delta 0.55 + 0.1/17 every 5000 iterations (interval=None: max_iters // 18 for other run lengths)
custom_hooks = [*_base_.custom_hooks, dict(type='DeltaScheduleHook', mode='rising', interval=5000)]
