# AuTR PVT-v2-b5 on 30 % of S4 train without synthetic pre-training (seed 002 Tab. 3 "w/o P.T."): autr_pvt_s4.py on
# the first 30 % of a seeded shuffle of the train clips (the authors' release: df[:int(len(df) * ratio)] of a
# shuffled csv; spec sheet A16). Write the subset csv first:
#   python tools/dataset_converters/avsbench_subset.py few-shot DATA_ROOT/s4_meta_data.csv \
#       DATA_ROOT/s4_meta_data_30pct_seed0.csv --ratio 0.30 --seed 0
# (val/test rows are kept unchanged). Paper: M_J 75.2 / M_F .859.
_base_ = ['./autr_pvt_s4.py']
train_dataloader = dict(dataset=dict(ann_file='s4_meta_data_30pct_seed0.csv'))
