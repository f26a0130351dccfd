_base_ = ['../../_base_/models/pvt_v2_b5.py']  # pvt_v2_b5 / pvt_v2_b5_channels for the PVT configs
# What BAVS's stage 1 changes in the shared PSOS model (configs/_base_/models/psos_*.py), bavs.md §1.2, §6.3:
#   - C = 70 AVSS classes + no-object for every subset (sheet A8 [R]: one vocabulary, one tree);
#   - L_SOAO = L_seg + lambda_cls L_cls + lambda_ins L_ins with 20 / 1 / 1 / 1 (A3 [R], from CMMS): mask focal 20 +
#     dice 1 and class CE 1 with no-object weight 0.1 [R] (the PSOS base); L_ins = SilentObjectAwareLoss 1 on the
#     unmatched queries of every decoder layer; L_cls = silent_exclusion: unmatched queries predicting a silent
#     category of the frame get no no-object CE (A1 [R]); needs LoadSilentObjectLabels in the training pipeline;
#   - instances for stage 2 filtered by the two-phase filter, t = 0.5 (A4 [R]); the top-1 output is the
#     "w/o AVIS" baseline and the model-selection score [R].
# AVSBench-semantic label2idx.json order (background 0, then these 1..70, alphabetical); also the visual classes of
# the audio-visual tree built from configs/bavs/trees/avss_curated_map.json.
avss_classes = (
    'accordion', 'airplane', 'axe', 'baby', 'bassoon', 'bell', 'bird', 'boat', 'boy', 'bus', 'car', 'cat', 'cello',
    'clarinet', 'clipper', 'clock', 'dog', 'donkey', 'drum', 'duck', 'elephant', 'emergency-car', 'erhu', 'flute',
    'frying-food', 'girl', 'goose', 'guitar', 'gun', 'guzheng', 'hair-dryer', 'handpan', 'harmonica', 'harp',
    'helicopter', 'hen', 'horse', 'keyboard', 'leopard', 'lion', 'man', 'marimba', 'missile-rocket', 'motorcycle',
    'mower', 'parrot', 'piano', 'pig', 'pipa', 'saw', 'saxophone', 'sheep', 'sitar', 'sorna', 'squirrel', 'tabla',
    'tank', 'tiger', 'tractor', 'train', 'trombone', 'truck', 'trumpet', 'tuba', 'ukulele', 'utv', 'vacuum-cleaner',
    'violin', 'wolf', 'woman',)
num_avss_classes = len(avss_classes)
bavs_decode_head = dict(
    num_classes=num_avss_classes,
    loss_cls=dict(class_weight=[1.0] * num_avss_classes + [0.1]),
    loss_soas=dict(type='SilentObjectAwareLoss', loss_weight=1.0),  # L_ins; None: no L_ins
    silent_exclusion=True,  # L_cls; False: no L_cls
    instance_filter='two_phase',
    iou_thr=0.5)

# The ImageNet ResNet-50 of configs/_base_/models/psos_r50.py (frozen BN; pretrained/resnet50-19c8e357.pth), for
# the R50 configs, which replace the Swin-B backbone of the main configs with it.
r50_backbone = dict(
    type='ResNet',
    depth=50,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    dilations=(1, 1, 1, 1),
    strides=(1, 2, 2, 2),
    style='pytorch',
    norm_cfg=dict(type='BN', requires_grad=False),
    norm_eval=True,
    contract_dilation=False,
    init_cfg=dict(type='Pretrained', checkpoint='pretrained/resnet50-19c8e357.pth'))
r50_channels = [256, 512, 1024, 2048]
