# AVSBench-object S4 (single sounding source): 5 frames per clip, train supervises frame 1 only.
dataset_type = 'AVSBenchS4Dataset'
data_root = 'data/AVSBench_object/Single-source'
crop_size = (224, 224)

# The clip loaders; a method that needs more per-frame inputs lists them in a dataset base of its own
# (COMBO: avsbench_s4_maskige.py).
loading = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipAnnotations'),
    dict(type='LoadClipAudio'),
]
# Training: COMBO's multi-scale recipe, one geometric draw per clip applied to all 5 frames (and their auxiliary
# images): shortest edge from int(x * 0.1 * 224) for x = 5..20 (112..448), long edge <= 896, a 224x224 crop
# (detectron2 RandomCrop_CategoryAreaConstraint with single_category_max_area=1.0, i.e. unconstrained),
# SSD colour jitter, horizontal flip, pad to 224 (image 128, label 255, as COMBO's mapper). The colour jitter is
# drawn for every frame on its own, as COMBO's mapper does (detectron2's ColorAugSSDTransform draws inside
# apply_image, which runs once per frame).
# The AVSBench/TPAVI baseline instead trains on the plain 224x224 release frames without augmentation:
# for it use `baseline_train_pipeline` below.
multiscale_crop = [
    dict(
        type='ClipRandomResize',
        short_edge_lengths=[112, 134, 156, 179, 201, 224, 246, 268, 291, 313, 336, 358, 380, 403, 425, 448],
        max_long_edge=896,
        sample_style='choice'),
    dict(type='ClipRandomCrop', crop_size=crop_size, cat_max_ratio=1.0, ignore_index=255),
]
flip_and_pad = [
    dict(type='ClipTransformBroadcaster', transforms=[dict(type='RandomFlip', prob=0.5)]),
    dict(type='ClipPad', size=crop_size, pad_val=128, seg_pad_val=255),
]
train_augmentation = [*multiscale_crop, dict(type='ClipPhotoMetricDistortion', per_frame=True), *flip_and_pad]
# Val/test: plain 224x224 resize; masks are loaded first and resized with the frames (nearest), and
# ori_shape follows, so predictions are scored at 224x224 as the AVSBench protocol does.
test_resize = dict(type='ClipResize', scale=crop_size, keep_ratio=False, update_ori_shape=True)
train_pipeline = [*loading, *train_augmentation, dict(type='PackAVSInputs')]
baseline_train_pipeline = [
    *loading,
    dict(type='ClipResize', scale=crop_size, keep_ratio=False),
    dict(type='PackAVSInputs'),
]
test_pipeline = [*loading, test_resize, dict(type='PackAVSInputs')]

train_dataloader = dict(
    batch_size=4,  # clips (x5 frames); AVSBench trains with 4, COMBO with 8
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='avsseg.avs_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,  # clips; AVSBench's F-score is averaged within batches of 4 clips (see the metric)
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='avsseg.avs_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='avsseg.avs_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline, test_mode=True))

val_evaluator = dict(type='AVSBinaryMetric', fscore_batch_clips=4)
test_evaluator = val_evaluator
