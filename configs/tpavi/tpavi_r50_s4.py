# AVSBench baseline (TPAVI) with ResNet-50 on AVSBench-object S4, the official recipe (avs_s4/train.sh):
# TPAVI on stages 0-3, BCE on frame 1 of each training clip, no AVM loss, Adam lr 1e-4 without weight decay or
# schedule, batch 4 clips, 15 epochs, plain 224x224 frames without augmentation, best checkpoint on val mJ.
# M_F is averaged over test batches of 4 clips as in the AVSBench tables.
# Paper and measured numbers: configs/tpavi/README.md.
_base_ = [
    '../_base_/models/tpavi_r50.py', '../_base_/datasets/avsbench_s4.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_adam_15e.py'
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline={{_base_.baseline_train_pipeline}}))
