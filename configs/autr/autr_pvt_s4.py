# AuTR PVT-v2-b5 on AVSBench-object S4 (seed 002 Tab. 4): autr_r50_s4.py with the frozen PVT-v2-b5.
# Paper: M_J 80.4 / M_F .891. Zero-shot (Tab. 2/3 "0 % w/ P.T."): tools/test.py of this config with the checkpoint
# of autr_pvt_avs-synthetic.py (configs/autr/README.md).
_base_ = [
    '../_base_/models/autr_pvt.py', '../_base_/datasets/avsbench_s4_autr.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_adamw_50e.py'
]
