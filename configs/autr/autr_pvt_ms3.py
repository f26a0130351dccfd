# AuTR PVT-v2-b5 on AVSBench-object MS3 (seed 002 Tab. 4): autr_r50_ms3.py with the frozen PVT-v2-b5.
# Paper: M_J 56.2 / M_F .672.
_base_ = [
    '../_base_/models/autr_pvt.py', '../_base_/datasets/avsbench_ms3_autr.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_adamw_50e.py'
]
