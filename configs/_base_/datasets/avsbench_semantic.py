# AVSBench-semantic (AVSS): 71 classes (background = 0), subsets v1s / v1m / v2, clips padded to 10 frames.
dataset_type = 'AVSBenchSemanticDataset'
data_root = 'data/AVSBench_semantic'
num_classes = 71
crop_size = (224, 224)

# The clip loaders; COMBO's base with the Maskige is avsbench_semantic_maskige.py.
loading = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipAnnotations'),
    dict(type='LoadClipAudio'),
]
# Training, as the official AVSS loader: short side resized to 224 (aspect kept), then a 224x224 centre crop.
# (ClipRandomResize with a single choice and no long-edge cap is that deterministic short-side resize; mmcv's
# CenterCrop takes (w, h).)
centre_crop = dict(type='ClipTransformBroadcaster', transforms=[dict(type='CenterCrop', crop_size=crop_size[::-1])])
train_augmentation = [dict(type='ClipRandomResize', short_edge_lengths=[224], max_long_edge=None), centre_crop]
# Val/test: plain 224x224 resize, masks nearest-resized with the frames and scored at 224x224 (official).
test_resize = dict(type='ClipResize', scale=crop_size, keep_ratio=False, update_ori_shape=True)
train_pipeline = [*loading, *train_augmentation, dict(type='PackAVSInputs')]
test_pipeline = [*loading, test_resize, dict(type='PackAVSInputs')]

# label_source='semantic' reads labels_semantic index PNGs (COMBO); 'rgb' reads labels_rgb colour PNGs
# (the official loader). Both hold the same labels.
dataset_common = dict(
    type=dataset_type, data_root=data_root, subsets=('v1s', 'v1m', 'v2'), max_frames=10, label_source='semantic')

train_dataloader = dict(
    batch_size=4,  # clips (x10 frames, padded frames included)
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='avsseg.avs_collate'),
    dataset=dict(**dataset_common, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='avsseg.avs_collate'),
    dataset=dict(**dataset_common, split='val', pipeline=test_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='avsseg.avs_collate'),
    dataset=dict(**dataset_common, split='test', pipeline=test_pipeline, test_mode=True))

# The class count comes from the dataset's metainfo (label2idx.json), so a release with fewer classes is scored
# over its own classes; the head's num_classes must match it (tools/test.py checks before evaluating).
val_evaluator = dict(type='AVSSemanticMetric')
test_evaluator = val_evaluator
