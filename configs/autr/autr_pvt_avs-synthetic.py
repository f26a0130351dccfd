# AuTR PVT-v2-b5 pre-trained on AVS-Synthetic (seed 002 §4.3, §5.1): AdamW 1e-4 / 5e-4, constant lr, gradient
# clip 0.1, 10 epochs of batch 1, images with the long side at 640 (aspect kept) and a horizontal flip, a random
# same-category audio clip at every load (the dataset base). Paper (AVS-Synthetic test): M_J 47.18 / M_F .591.
# Its last checkpoint (work_dirs/autr_pvt_avs-synthetic/epoch_10.pth) gives the zero-shot S4 result (Tab. 2/3:
# tools/test.py configs/autr/autr_pvt_s4.py CKPT) and initialises autr_pvt_s4_ft-synthetic_r*.py.
_base_ = [
    '../_base_/models/autr_pvt.py', '../_base_/datasets/avs_synthetic.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_adamw_10e.py'
]
