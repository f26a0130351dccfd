# COMBO ablation (paper sec. 4.4, ResNet-50, AVSS): w/o Siam-Encoder (Table 3): the image encoder alone; the Maskige
# is not loaded.
_base_ = ['../combo_r50_avss.py']
model = dict(backbone=dict(use_maskige=False))
# no Maskige to load, and none to colour-jitter
train_dataloader = dict(dataset=dict(pipeline=[
    dict(t, aux_image_keys=()) if t['type'] == 'ClipPhotoMetricDistortion' else t
    for t in _base_.train_dataloader.dataset.pipeline if t['type'] != 'LoadClipMaskige'
]))
val_dataloader = dict(dataset=dict(
    pipeline=[t for t in _base_.val_dataloader.dataset.pipeline if t['type'] != 'LoadClipMaskige']))
test_dataloader = dict(dataset=dict(
    pipeline=[t for t in _base_.test_dataloader.dataset.pipeline if t['type'] != 'LoadClipMaskige']))
