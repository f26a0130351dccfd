# AVSBench-object MS3 for COMBO: the pipelines of avsbench_s4_maskige.py (Maskige after the frames, COMBO's
# multi-scale training recipe, 224x224 test resize) on the MS3 dataset, as avsbench_ms3.py does for S4.
_base_ = ['./avsbench_s4_maskige.py']
dataset_type = 'AVSBenchMS3Dataset'
data_root = 'data/AVSBench_object/Multi-sources'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
