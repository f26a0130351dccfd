# AUSS MS3 without the S4 stage (paper Table 6 "from scratch").
_base_ = ['./auss_pvt_ms3.py']
load_from = None
