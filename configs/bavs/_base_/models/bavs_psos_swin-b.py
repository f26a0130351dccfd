# BAVS stage-1 model with Swin-B from ImageNet [P] (the main setting, Tables I/IV, 101.80M):
# configs/_base_/models/psos_swin-b.py (mmdet SwinTransformer, window 12, ImageNet-22k 384 backbone weights in the
# official layout, pretrained/swin_base_patch4_window12_384_22k.pth; 100 queries, MSDeformAttn pixel decoder 6 x 256,
# 9 masked-attention decoder layers, stride-4 masks) with the BAVS changes of ../bavs_psos_common.py. The PVT-v2-b5
# and R50 configs (Table IV) replace the backbone of the Swin-B subset configs.
_base_ = ['../../../_base_/models/psos_swin-b.py', '../bavs_psos_common.py']
model = dict(decode_head=_base_.bavs_decode_head)
