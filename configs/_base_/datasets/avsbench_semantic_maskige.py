# AVSBench-semantic as COMBO trains on it: avsbench_semantic.py with each frame's Maskige loaded right after the
# frames. COMBO reads AVSS frames and Maskiges that its offline script (process_avssimg2fixsize.py) resized with
# PIL: frames bilinear (antialiased), Maskiges NEAREST; here the same resize runs on the fly (backend='pillow', the
# Maskige nearest). Not reproduced: that script also re-saves the frames as JPEG (quality 75). After the
# short-side-224 resize and centre crop, COMBO's AVSS mapper: SSD colour jitter (drawn for every frame and every
# Maskige on its own) and a horizontal flip.
_base_ = ['./avsbench_semantic.py']
loading = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMaskige'),
    dict(type='LoadClipAnnotations'),
    dict(type='LoadClipAudio'),
]
maskige_nearest = dict(maskige='nearest')
train_augmentation = [
    dict(type='ClipRandomResize', short_edge_lengths=[224], max_long_edge=None, aux_interpolation=maskige_nearest,
         backend='pillow'),
    _base_.centre_crop,
]
test_resize = dict(
    type='ClipResize', scale=_base_.crop_size, keep_ratio=False, update_ori_shape=True,
    aux_interpolation=maskige_nearest, backend='pillow')
train_pipeline = [
    *loading,
    *train_augmentation,
    dict(type='ClipPhotoMetricDistortion', per_frame=True, aux_image_keys=('maskige', )),
    dict(type='ClipTransformBroadcaster', transforms=[dict(type='RandomFlip', prob=0.5)]),
    dict(type='PackAVSInputs'),
]
test_pipeline = [*loading, test_resize, dict(type='PackAVSInputs')]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
