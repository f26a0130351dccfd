# AUSS ResNet-50 MS3 curriculum (paper Table 6 "pretrained on S4"): auss_r50_ms3.py initialised from the last
# checkpoint of auss_r50_s4.py (train that first; every key loads, the delta schedule restarts at 0.55).
_base_ = ['./auss_r50_ms3.py']
load_from = 'work_dirs/auss_r50_s4/iter_90000.pth'
