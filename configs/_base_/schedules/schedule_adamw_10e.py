# AuTR's AVS-Synthetic pre-training recipe (seed 002 §4.3): the AVSBench optimiser (schedule_adamw_50e.py: AdamW
# 1e-4, weight decay 5e-4, constant lr, gradient clip 0.1) for 10 epochs with batch 1 ("images have larger
# resolutions"). Validation after every epoch on the val split, the best checkpoint kept on mJ.
_base_ = ['./schedule_adamw_50e.py']
total_batch_size = 1
train_cfg = dict(max_epochs=10)
