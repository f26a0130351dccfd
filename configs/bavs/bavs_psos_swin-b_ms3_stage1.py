# BAVS stage 1 on AVSBench MS3: PSOS (Swin-B, ImageNet) with L_SOAO (bavs.md §1.2, §3).
# The MS3 release has no categories (sheet A8): the class-index masks come from the AVSS v1m labels of the same
# videos (tools/dataset_converters/avss_labels_to_avsbench.py, read by AVSBenchMS3ClassIndexDataset, as CMMS's MS3
# configs). Silent-object labels: silent_labels/ms3_train.json under the MS3 root (make_silent_labels.py, as S4).
# Recipe [R]: Adam 1e-4; batch 20 labelled frames = 4 clips x 5 frames; ~4k iterations; validation every epoch
# (74 iterations over the 296 train clips), best val mJ of the top-1 output kept. Trained from ImageNet weights; the
# sheet allows starting from the S4 PSOS (`load_from=`), to be reported when used.
_base_ = ['./bavs_psos_swin-b_s4_stage1.py']
data_root = 'data/AVSBench_object/Multi-sources'
train_pipeline = [
    *_base_.loading,
    dict(type='LoadSilentObjectLabels', ann_file='silent_labels/ms3_train.json', data_root=data_root,
         classes=('background', ) + _base_.avss_classes),
    dict(type='ClipResize', scale=_base_.crop_size, keep_ratio=False),
    dict(type='PackAVSInputs'),
]
total_batch_size = 4
train_dataloader = dict(
    batch_size=total_batch_size,
    dataset=dict(
        _delete_=True, type='AVSBenchMS3ClassIndexDataset', data_root=data_root, split='train',
        pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type='AVSBenchMS3Dataset', data_root=data_root))
test_dataloader = dict(dataset=dict(type='AVSBenchMS3Dataset', data_root=data_root))
max_iters = 4000
iters_per_epoch = 74  # ceil(296 / 4)
train_cfg = dict(max_iters=max_iters, val_interval=iters_per_epoch)
default_hooks = dict(checkpoint=dict(interval=iters_per_epoch))
