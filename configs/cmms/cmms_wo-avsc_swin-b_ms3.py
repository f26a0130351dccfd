# CMMS "w/o AVSC" on MS3 (Table 4: MS3 J 53.96 / F 62.05), test only; see cmms_wo-avsc_swin-b_s4.py.
_base_ = ['./cmms_avsc_beats_swin-b_ms3_stage2.py']
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
    dict(type='PotentialInstanceMetric'),  # binary MS3 masks carry no category: class-agnostic recall only
]
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
val_dataloader = None
val_cfg = None
val_evaluator = None
