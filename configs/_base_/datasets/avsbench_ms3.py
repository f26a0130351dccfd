# AVSBench-object MS3 (multiple sounding sources): 5 frames per clip, all 5 supervised in every split.
# Pipelines (COMBO's multi-scale training recipe, `baseline_train_pipeline` for the AVSBench/TPAVI baseline,
# 224x224 test resize), dataloaders and the binary metric are those of S4; only the dataset differs.
_base_ = ['./avsbench_s4.py']
dataset_type = 'AVSBenchMS3Dataset'
data_root = 'data/AVSBench_object/Multi-sources'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
