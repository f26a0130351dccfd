# AuTR PVT-v2-b5 fine-tuned on all of S4 train from the AVS-Synthetic model (seed 002 Tab. 3 "100 % w/ P.T."):
# autr_pvt_s4.py initialised from autr_pvt_avs-synthetic.py's last checkpoint. The 100 % "w/o P.T." row is
# autr_pvt_s4.py itself. Paper: M_J 80.3 / M_F .892.
_base_ = ['./autr_pvt_s4.py']
load_from = 'work_dirs/autr_pvt_avs-synthetic/epoch_10.pth'
