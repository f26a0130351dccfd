# AUSS ResNet-50 MS3 from ImageNet/VGGish weights only (paper Table 6 "from scratch").
_base_ = ['./auss_r50_ms3.py']
load_from = None
