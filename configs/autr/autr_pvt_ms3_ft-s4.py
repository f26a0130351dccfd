# AuTR PVT-v2-b5 on MS3 fine-tuned from S4 (seed 002 Tab. 4 "+ F.T."): autr_pvt_ms3.py (the MS3 recipe, 50 epochs,
# lr 1e-4: spec sheet A17) initialised from the last checkpoint of autr_pvt_s4.py (train that first; every key
# loads). Paper: M_J 60.9 / M_F .725.
_base_ = ['./autr_pvt_ms3.py']
load_from = 'work_dirs/autr_pvt_s4/epoch_50.pth'
