# AUSS ResNet-101 (the paper's ResNet model, Table 2): auss_r50_ms3.py with ResNet-101, torchvision ImageNet weights,
# BN frozen (as mmseg's Mask2Former R-101). Local weight file: pretrained/resnet101-5d3b4d8f.pth.
_base_ = ['./auss_r50_ms3.py']
model = dict(backbone=dict(depth=101, init_cfg=dict(checkpoint='pretrained/resnet101-5d3b4d8f.pth')))
