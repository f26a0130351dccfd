# Stage 2 of the tiny curriculum: the small AUSS of auss_tiny_synthetic_s4.py on the synthetic MS3 set (1-3
# simultaneous sources mixed in one wav, where unmixing should matter), initialised from the stage-1 checkpoint.
# Data: `python tools/dataset_converters/synthetic_avsbench.py data/synthetic_ms3 --subset ms3`.
_base_ = ['./auss_tiny_synthetic_s4.py']
dataset_type = 'AVSBenchMS3Dataset'
data_root = 'data/synthetic_ms3'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
# the same loader on the test split (a bare `test_dataloader = val_dataloader` would read as the val split but
# keep the base's split='test' when merged: tests/test_configs/test_config_aliases.py)
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))
load_from = 'work_dirs/auss_tiny_synthetic_s4/iter_1200.pth'
