# Stage 0 of the BAVS tiny smoke test (bavs.md §6.5): a small audio tagger trained on the synthetic AVSS sounds.
# NOT part of BAVS, whose tagger is an off-the-shelf AudioSet BEATs (never trained); no AudioSet tagger can be
# downloaded here, so this one plays it. Its 9 tags (configs/bavs/trees/synthetic_tags.csv, the "layer 3" of
# configs/bavs/trees/synthetic_av_tree.json) are the 8 synthetic categories' sounds plus white noise.
#
# Data: `python tools/dataset_converters/synthetic_avsbench.py data/synthetic_avss --subset avss --seed 0`.
# Input: 1 s of 16 kHz audio per frame (LoadClipWaveform, frame t <-> second t, as BEATs is fed in BAVS).
# Model (LogMelTagger, _base_/models/bavs_tagger_tiny_synthetic.py): Kaldi log-mel (64 bands) -> LogMelCNN ->
# Linear(128, 9).
# Target (AudioTaggingModel): multi-hot of the classes in the frame's semantic mask (a silent clip: none);
# 10% of the windows become digital silence with no tag (the synthetic silent clips are quiet, not zero; without
# this the tagger tagged zeros at random), then 30% get white noise at -5..10 dB SNR and the 'noise' tag.
# Multi-label BCE, AdamW 1e-3.
# Two random labelled frames per clip (ClipSampleFrames), 16 clips per batch, 300 iterations.
# Its checkpoint's audio_backbone.* goes into the stage-2 checkpoint with tools/model_converters/compose_two_stage.py.
_base_ = ['../_base_/default_runtime.py', '_base_/models/bavs_tagger_tiny_synthetic.py']
data_root = 'data/synthetic_avss'
categories = ('disc', 'square', 'triangle', 'ring', 'cross', 'star', 'diamond', 'hexagon')  # dataset classes 1..8
scale = (64, 64)  # the frames are not read; small frames keep loading cheap (object presence survives at 64)

model = dict(
    type='AudioTaggingModel',
    data_preprocessor=dict(type='AVSDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=False, pad_val=0, seg_pad_val=255, size=None),
    audio_backbone=_base_.tagger,
    num_classes=len(categories),
    noise_tag=8,  # /syn/noise
    noise_prob=0.3,
    snr_range=(-5.0, 10.0),
    silence_prob=0.1)

loading = [dict(type='LoadClipFrames'), dict(type='LoadClipAnnotations'), dict(type='LoadClipWaveform')]
train_pipeline = [
    *loading,
    dict(type='ClipSampleFrames', num_frames=2),
    dict(type='ClipResize', scale=scale, keep_ratio=False),
    dict(type='PackAVSInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='avsseg.avs_collate'),
    dataset=dict(type='AVSBenchSemanticDataset', data_root=data_root, subsets=('v1s', 'v1m', 'v2'), max_frames=10,
                 label_source='semantic', audio_source='wav', split='train', pipeline=train_pipeline))

max_iters = 300
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=25, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
