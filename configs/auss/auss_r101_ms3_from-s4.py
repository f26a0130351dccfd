# AUSS MS3 curriculum (paper Table 6 "pretrained on S4"): auss_r101_ms3.py initialised from auss_r101_s4.py.
_base_ = ['./auss_r101_ms3.py']
load_from = 'work_dirs/auss_r101_s4/iter_90000.pth'
