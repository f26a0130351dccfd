# CMMS "w/o AVSC" on S4 (Table 4: S4 J 77.42 / F 85.62), test only: the stage-1 PSOS's top-1 instance (the query
# with the highest argmax-class probability among those not predicting no-object), no audio. Test it with the
# stage-1 checkpoint that stage 2 froze: `tools/test.py configs/cmms/cmms_wo-avsc_swin-b_s4.py STAGE1.pth` (the
# strict checkpoint check refuses a stage-2 checkpoint, whose avsc_head.* / audio_backbone.* keys this model lacks).
# Its output does not depend on --audio-perturb (the PSOS sees no audio). The instance count I (Table 3) is logged.
_base_ = ['./cmms_avsc_beats_swin-b_s4_stage2.py']
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
    dict(type='PotentialInstanceMetric', classes=_base_.s4_categories),
]
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
val_dataloader = None
val_cfg = None
val_evaluator = None
