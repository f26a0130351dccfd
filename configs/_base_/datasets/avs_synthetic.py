# AVS-Synthetic (seed 002, annotation-free AVS): one image + one mask + one audio clip per sample (a T = 1 clip).
# Built from your own segmentation and audio datasets with tools/dataset_converters/build_avs_synthetic.py, or the
# authors' release (Zenodo 8125822, later SAMA-AVS version of the paper); see docs/avs_synthetic.md.
dataset_type = 'AVSSyntheticDataset'
data_root = 'data/avs_synthetic'

# Audio: the second 0.96 s VGGish example of the wav (0.96-1.92 s), as the authors' release loader
# (`wavfile_to_examples(path)[1]`). Training draws a random same-category clip at every load (the dataset's
# resample_audio, on for split='train'); val/test use each row's fixed audio_name.
loading = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipAnnotations'),
    dict(type='LoadClipAudioFromExample', start_example=1),
]
# Images keep their aspect ratio with the long side at 640 (ReferFormer's max_size, which AuTR follows; the paper
# says only that the images "have larger resolutions" and trains with batch 1), masks nearest. The paper names no
# augmentation; a horizontal flip is the spec sheet's recommendation (A11). Test predictions are scored at the
# original resolution (ClipResize without update_ori_shape resizes them back).
resize = dict(type='ClipResize', scale=(640, 640), keep_ratio=True)
train_pipeline = [
    *loading,
    resize,
    dict(type='ClipTransformBroadcaster', transforms=[dict(type='RandomFlip', prob=0.5)]),
    dict(type='PackAVSInputs'),
]
test_pipeline = [*loading, resize, dict(type='PackAVSInputs')]

train_dataloader = dict(
    batch_size=1,  # the paper: batch 1, images of different sizes
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='avsseg.avs_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='avsseg.avs_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='avsseg.avs_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline, test_mode=True))

# M_F over groups of 1 sample (spec sheet A11: test batch 1 on AVS-Synthetic).
val_evaluator = dict(type='AVSBinaryMetric', fscore_batch_clips=1)
test_evaluator = val_evaluator
