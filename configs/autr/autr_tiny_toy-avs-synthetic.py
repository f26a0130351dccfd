# The small AuTR of autr_tiny_synthetic_s4.py pre-trained on a toy AVS-Synthetic set: the CPU-sized version of
# autr_pvt_avs-synthetic.py, and the first half of the zero-shot path (seed 002 Tab. 2/3 "0 % w/ P.T."):
#
#   python tools/dataset_converters/make_toy_avs_sources.py data/toy_avs_sources --num-images 200 \
#       --clips-per-label 8 --image-size 96
#   python tools/dataset_converters/build_avs_synthetic.py data/toy_avs_synthetic \
#       --category-map data/toy_avs_sources/category_map.json --seg-format coco \
#       --seg-ann data/toy_avs_sources/seg_coco/instances.json --seg-images data/toy_avs_sources/seg_coco/images \
#       --audio-csv data/toy_avs_sources/audio/vggsound.csv --audio-dir data/toy_avs_sources/audio/wavs \
#       --test-size 40 --val-size 20
#   python tools/train.py configs/autr/autr_tiny_toy-avs-synthetic.py --threads 1
#   python tools/test.py configs/autr/autr_tiny_synthetic_s4.py work_dirs/autr_tiny_toy-avs-synthetic/iter_N.pth
#
# The model is autr_tiny_synthetic_s4.py's (same keys, so its checkpoint is tested with the S4 config); the data is
# the AVS-Synthetic layout read by AVSSyntheticDataset: one image per sample (T = 1), the mask of one category,
# the second 0.96 s VGGish example of a same-category sound drawn at every load in training (the fixed csv audio in
# val/test), images resized to 96x96 as the S4 tiny config, horizontal flip in training, M_F over single samples.
# The toy shapes and their sounds are the synthetic S4 set's, so the zero-shot test is meaningful on that set.
_base_ = ['./autr_tiny_synthetic_s4.py']
data_root = 'data/toy_avs_synthetic'
scale = (96, 96)
loading = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipAnnotations'),
    dict(type='LoadClipAudioFromExample', start_example=1),
]
train_pipeline = [
    *loading,
    dict(
        type='ClipTransformBroadcaster',
        transforms=[dict(type='Resize', scale=scale, keep_ratio=False),
                    dict(type='RandomFlip', prob=0.5)]),
    dict(type='PackAVSInputs'),
]
test_pipeline = [
    *loading,
    dict(type='ClipResize', scale=scale, keep_ratio=False, update_ori_shape=True),
    dict(type='PackAVSInputs'),
]
train_dataloader = dict(
    batch_size=4,
    dataset=dict(_delete_=True, type='AVSSyntheticDataset', data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    dataset=dict(_delete_=True, type='AVSSyntheticDataset', data_root=data_root, split='val', pipeline=test_pipeline,
                 test_mode=True))
test_dataloader = dict(
    batch_size=4,
    dataset=dict(_delete_=True, type='AVSSyntheticDataset', data_root=data_root, split='test',
                 pipeline=test_pipeline, test_mode=True))
val_evaluator = dict(type='AVSBinaryMetric', fscore_batch_clips=1)
test_evaluator = val_evaluator
