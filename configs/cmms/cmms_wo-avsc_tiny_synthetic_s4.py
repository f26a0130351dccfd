# CMMS "w/o AVSC" on the synthetic S4 set, test only: the tiny PSOS's top-1 instance, no audio (seed001.md §6.5).
# Test it with the stage-1 checkpoint of the tiny run (the one stage 2 froze); see cmms_wo-avsc_swin-b_s4.py.
_base_ = ['./cmms_avsc_tiny_synthetic_s4_stage2.py']
model = dict(
    _delete_=True,
    type='PSOSSegmentor',
    data_preprocessor=_base_.model.data_preprocessor,
    audio_backbone=None,
    backbone=_base_.model.backbone,
    decode_head=_base_.model.decode_head,
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
test_evaluator = [
    dict(type='AVSBinaryMetric', fscore_batch_clips=4),
    dict(type='PotentialInstanceMetric', classes=_base_.categories),
]
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
val_dataloader = None
val_cfg = None
val_evaluator = None
