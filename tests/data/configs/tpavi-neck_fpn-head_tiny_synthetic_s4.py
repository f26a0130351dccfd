# The tiny TPAVI model of tpavi_tiny_synthetic_s4.py with mmseg's stock FPNHead after TPAVINeck instead of the
# AVSBench decoder: the neck returns an AVFeatures bundle, which is the tuple of fused levels a stock head indexes.
# Used by tests/test_models/test_segmentors/test_audio_visual_segmentor.py.
#
# mmseg heads do not read is_labeled: every frame of the batch enters their loss. The test therefore trains on
# batches whose frames are all labelled (as MS3 is). On S4 training clips, where only frame 1 is labelled, the other
# frames' ground truth is all ignore_index; mmseg's BCE then counts their pixels as zeros in its mean unless
# loss_decode sets avg_non_ignore=True.
_base_ = ['./tpavi_tiny_synthetic_s4.py']

model = dict(
    decode_head=dict(
        _delete_=True,
        type='FPNHead',
        in_channels=[16, 16, 16, 16],  # TPAVINeck's channels, on every level
        in_index=[0, 1, 2, 3],
        feature_strides=[4, 8, 16, 32],
        channels=8,
        dropout_ratio=0.0,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0, loss_name='loss_bce')))
