# AUSS ResNet-50 on AVSBench-object MS3: the S4 recipe on the multi-source subset (all 5 frames labelled, so all
# four losses on every frame). The paper trains MS3 also for 90k iterations at batch 8 and from the S4 model
# (Table 6): run auss_r50_ms3_from-s4.py for that, auss_r50_ms3_scratch.py for Table 6's "from scratch" row.
# Validation every 2000 iterations keeps the best checkpoint on val mJ besides the last (spec sheet B15).
_base_ = ['./auss_r50_s4.py']
# the S4 config with the dataset of _base_/datasets/avsbench_ms3.py (same pipelines, loaders and metric)
dataset_type = 'AVSBenchMS3Dataset'
data_root = 'data/AVSBench_object/Multi-sources'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
train_cfg = dict(val_interval=2000)
