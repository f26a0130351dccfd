# AuTR PVT-v2-b5 fine-tuned on 10 % of S4 train from the AVS-Synthetic model (seed 002 Tab. 3 "w/ P.T."):
# autr_pvt_s4_r10.py (its subset csv) initialised from autr_pvt_avs-synthetic.py's last checkpoint.
# Paper: M_J 73.9 / M_F .845.
_base_ = ['./autr_pvt_s4_r10.py']
load_from = 'work_dirs/autr_pvt_avs-synthetic/epoch_10.pth'
