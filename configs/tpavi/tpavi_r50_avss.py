# AVSBench baseline (TPAVI) with ResNet-50 on AVSBench-semantic, the official recipe (avss/train.sh):
# 71 classes (background 0), per-frame CE averaged over the labelled frames, the audio-visual matching (KL)
# loss on stages 0-3 with lambda_1 = 0.5 on binarised predictions, audio projection without bias, clips padded to
# 10 frames, Adam lr 1e-4, batch 4 clips, 60 epochs, best checkpoint on val mIoU. The official test scores the
# zero-padded frames; set val/test_evaluator score_padded_frames=True to reproduce that (default off).
# Paper and measured numbers: configs/tpavi/README.md.
_base_ = [
    '../_base_/models/tpavi_r50.py', '../_base_/datasets/avsbench_semantic.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_adam_60e.py'
]
model = dict(
    neck=dict(align_bias=False),
    decode_head=dict(
        num_classes=71,
        out_channels=71,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, loss_name='loss_ce'),
        loss_avm=dict(_delete_=True, type='AudioVisualMatchingLoss', stages=(0, 1, 2, 3), loss_weight=0.5,
                      frame_reduction='mean')))
train_dataloader = dict(batch_size=4)
