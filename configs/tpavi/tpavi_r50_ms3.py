# AVSBench baseline (TPAVI) with ResNet-50 on AVSBench-object MS3, the official recipe (avs_ms3/train.sh):
# BCE on all 5 frames plus the audio-visual matching (KL) loss on stages 0-3 with lambda_1 = 0.5
# (--masked_av_flag --masked_av_stages 0 1 2 3 --lambda_1 0.5 --kl_flag), Adam lr 1e-4, batch 4 clips,
# 30 epochs, plain 224x224 frames, best checkpoint on val mJ.
# Paper and measured numbers: configs/tpavi/README.md.
_base_ = [
    '../_base_/models/tpavi_r50.py', '../_base_/datasets/avsbench_ms3.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_adam_30e.py'
]
model = dict(
    decode_head=dict(
        loss_avm=dict(_delete_=True, type='AudioVisualMatchingLoss', stages=(0, 1, 2, 3), loss_weight=0.5,
                      frame_reduction='sum')))
train_dataloader = dict(batch_size=4, dataset=dict(pipeline={{_base_.baseline_train_pipeline}}))
