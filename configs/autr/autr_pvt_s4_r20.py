# AuTR PVT-v2-b5 on 20 % of S4 train without synthetic pre-training (seed 002 Tab. 3 "w/o P.T."): autr_pvt_s4.py on
# the first 20 % of a seeded shuffle of the train clips (the authors' release: df[:int(len(df) * ratio)] of a
# shuffled csv; spec sheet A16). Write the subset csv first:
#   python tools/dataset_converters/avsbench_subset.py few-shot DATA_ROOT/s4_meta_data.csv \
#       DATA_ROOT/s4_meta_data_20pct_seed0.csv --ratio 0.20 --seed 0
# (val/test rows are kept unchanged). Paper: M_J 74.6 / M_F .852.
_base_ = ['./autr_pvt_s4.py']
train_dataloader = dict(dataset=dict(ann_file='s4_meta_data_20pct_seed0.csv'))
