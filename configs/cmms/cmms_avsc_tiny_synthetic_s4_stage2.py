# A small CMMS stage 2 (AVSC) on the synthetic S4 set for a 2-core CPU (seed001.md §6.5).
#
# Stage 1 is `cmms_psos_tiny_synthetic_s4_stage1.py`, frozen and run online inside AVSCSegmentor from
# `stage1_checkpoint` (its last checkpoint; override with --cfg-options model.stage1_checkpoint=PATH). The stage-2
# checkpoint then holds every weight, so tools/test.py needs only it.
# Audio: 1 s of 16 kHz per frame (LoadClipWaveform) -> Kaldi fbank with BEATs' settings [98, 128] -> a LogMelCNN
# trained from scratch with the MLP (documented deviation: the paper's frozen AudioSet BEATs is not available on a
# CPU without weights; the synthetic sounds are learnt from L_avc alone, no audio label is used).
# AVSC: MLP 128 -> 64 -> 8, sigmoid (A3), Eq. 1 sum, L_avc (BCE); Adam lr 1e-3 (the paper's stage-2 optimiser),
# 300 iterations of 16 clips (labelled frame only). No geometric augmentation (the stage-2 rule, §6.3).
_base_ = ['./cmms_psos_tiny_synthetic_s4_stage1.py']
categories = ('disc', 'square', 'triangle', 'ring', 'cross', 'star', 'diamond', 'hexagon')  # as stage 1
scale = (96, 96)
loading = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipAnnotations'),
    dict(type='LoadClipWaveform'),
]
train_pipeline = [
    *loading,
    dict(type='ClipSelectLabelledFrames'),
    dict(type='ClipResize', scale=scale, keep_ratio=False),
    dict(type='PackAVSInputs'),
]
test_pipeline = [
    *loading,
    dict(type='ClipResize', scale=scale, keep_ratio=False, update_ori_shape=True),
    dict(type='PackAVSInputs'),
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
# the same loader on the test split (a bare `test_dataloader = val_dataloader` would read as the val split but
# keep the base's split='test' when merged: tests/test_configs/test_config_aliases.py)
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))
val_evaluator = dict(_delete_=True, type='AVSBinaryMetric', fscore_batch_clips=4)
test_evaluator = val_evaluator

model = dict(
    type='AVSCSegmentor',
    stage1_checkpoint='work_dirs/cmms_psos_tiny_synthetic_s4_stage1/iter_300.pth',
    instance_source='online',
    audio_front_end=dict(type='KaldiFbank', preset='beats'),
    audio_backbone=dict(_delete_=True, type='LogMelCNN', in_channels=1, channels=(16, 32, 64), out_channels=128),
    freeze_audio_backbone=False,
    avsc_head=dict(
        type='AVSCHead', num_classes=len(categories), in_channels=128, hidden_channels=(64, ),
        activation='sigmoid', compose='sum', loss_weight=1.0))

max_iters = 300
load_from = None  # stage 1's initialisation; the stage-1 weights come from stage1_checkpoint
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = []
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
