# BAVS stage 1 on AVSBench S4: PSOS (Swin-B, ImageNet) with L_SOAO = L_seg + L_cls + L_ins (bavs.md §1.2, §3).
# Class-index ground truth from the clip's category through the 23 -> 70 table of the sheet (§4.3; the entries the
# sheet marks "(?)" are guesses to verify against the AVSS v1s labels of the same videos): ClipCategoryToLabel.
# Silent-object labels of the train frames (stage 1a), written once by
#   python tools/dataset_converters/make_silent_labels.py data/AVSBench_object/Single-source --captioner file \
#       --captions captions_s4_train.json --glove glove.6B.300d.txt --split train -o \
#       data/AVSBench_object/Single-source/silent_labels/s4_train.json
# (captions with "gt" entries, since S4 frames have no class-index PNG; see docs/bavs.md).
# Recipe [P]/[R] (sheet §3): Adam 1e-4, no weight decay, constant lr; batch 20 labelled frames (20 clips, frame 1);
# 224x224 resize; ~8k iterations (a guess as CMMS's), validation every epoch (173 iterations over the 3452 labelled
# train frames), the best val mJ of the top-1 ("w/o AVIS") output kept; I (PotentialInstanceMetric) logged.
_base_ = ['_base_/models/bavs_psos_swin-b.py', '../_base_/datasets/avsbench_s4.py', '../_base_/default_runtime.py']
crop_size = (224, 224)
s4_to_avss = {
    'baby_laughter': 'baby', 'female_singing': 'woman', 'male_speech': 'man', 'dog_barking': 'dog',
    'cat_meowing': 'cat', 'lions_roaring': 'lion', 'horse_clip-clop': 'horse', 'coyote_howling': 'wolf',
    'mynah_bird_singing': 'bird', 'playing_acoustic_guitar': 'guitar', 'playing_tabla': 'tabla',
    'playing_violin': 'violin', 'playing_piano': 'piano', 'playing_ukulele': 'ukulele',
    'playing_glockenspiel': 'marimba', 'helicopter': 'helicopter', 'race_car': 'car', 'driving_buses': 'bus',
    'ambulance_siren': 'emergency-car', 'typing_on_computer_keyboard': 'keyboard', 'chainsawing_trees': 'saw',
    'cap_gun_shooting': 'gun', 'lawn_mowing': 'mower'}
train_pipeline = [
    *_base_.loading,
    dict(type='LoadSilentObjectLabels', ann_file='silent_labels/s4_train.json', data_root=_base_.data_root,
         classes=('background', ) + _base_.avss_classes),
    dict(type='ClipSelectLabelledFrames'),  # S4 trains on frame 1 only
    dict(type='ClipCategoryToLabel', classes=_base_.avss_classes, category_map=s4_to_avss),
    dict(type='ClipResize', scale=crop_size, keep_ratio=False),
    dict(type='PackAVSInputs'),
]
total_batch_size = 20
train_dataloader = dict(batch_size=total_batch_size, dataset=dict(pipeline=train_pipeline))
val_evaluator = [
    dict(type='AVSBinaryMetric', fscore_batch_clips=4),
    # binary S4 masks: class-agnostic recall; prefixed: both metrics report the test-time audio perturbation, and
    # mmengine refuses a key twice
    dict(type='PotentialInstanceMetric', prefix='instances'),
]
test_evaluator = val_evaluator
model = dict(decode_head=dict(output='binary'))

max_iters = 8000
iters_per_epoch = 173  # ceil(3452 / 20)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, weight_decay=0.0))
param_scheduler = []
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=iters_per_epoch)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=iters_per_epoch, max_keep_ckpts=1,
                    save_best='mJ', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='AVSVisualizationHook', draw=False, interval=50))
log_processor = dict(by_epoch=False)
