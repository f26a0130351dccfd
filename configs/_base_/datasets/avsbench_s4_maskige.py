# AVSBench-object S4 for COMBO: avsbench_s4.py with each frame's Maskige loaded right after the frames
# (LoadClipMaskige declares it an auxiliary image, so every clip transform moves it with its frame). Maskige
# location: LoadClipMaskige's default, the official pre_SAM_mask tree next to the data (docs/maskige.md).
_base_ = ['./avsbench_s4.py']
loading = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMaskige'),
    dict(type='LoadClipAnnotations'),
    dict(type='LoadClipAudio'),
]
# COMBO's mapper also colour-jitters every Maskige, with a draw of its own (detectron2 draws inside apply_image).
train_augmentation = [
    *_base_.multiscale_crop,
    dict(type='ClipPhotoMetricDistortion', per_frame=True, aux_image_keys=('maskige', )),
    *_base_.flip_and_pad,
]
train_pipeline = [*loading, *train_augmentation, dict(type='PackAVSInputs')]
test_pipeline = [*loading, _base_.test_resize, dict(type='PackAVSInputs')]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
