# COMBO (Yang et al., CVPR 2024) ResNet-50 on AVSBench-object S4: official recipe (COMBO_R50_bs8_90k.yaml).
# AdamW 1e-4, weight decay 0.05, backbone lr x0.1, poly, full-model gradient clip 0.01, 8 clips per batch,
# 90k iterations, 224 crops with COMBO's multi-scale augmentation (dataset base), no AMP.
# Paper: 81.7 mJ / 90.1 mF (README of the official code: 81.7 / 90.1).
_base_ = [
    '../_base_/models/combo_r50.py', '../_base_/datasets/avsbench_s4.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_poly_90k.py'
]
# The dataset pipelines with the Maskige loaded right after the frames, so that every clip transform moves it
# together with the frames. Maskige location: LoadClipMaskige's default (official layout next to the data).
train_pipeline = [_base_.train_pipeline[0], dict(type='LoadClipMaskige'), *_base_.train_pipeline[1:]]
test_pipeline = [_base_.test_pipeline[0], dict(type='LoadClipMaskige'), *_base_.test_pipeline[1:]]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
# COMBO's maskige gates live outside its backbone (full lr); the BFM's audio_pos is an embedding (no decay).
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            'backbone.gates': dict(lr_mult=1.0, decay_mult=1.0),
            'audio_pos': dict(lr_mult=1.0, decay_mult=0.0),
        }))
# COMBO tests one video per batch (detectron2 test loader), so its M_F maximum is taken per clip.
val_evaluator = dict(fscore_batch_clips=1)
test_evaluator = val_evaluator
