# AUSS MS3 curriculum (paper Table 6 "pretrained on S4"): auss_pvt_ms3.py initialised from auss_pvt_s4.py.
_base_ = ['./auss_pvt_ms3.py']
load_from = 'work_dirs/auss_pvt_s4/iter_90000.pth'
