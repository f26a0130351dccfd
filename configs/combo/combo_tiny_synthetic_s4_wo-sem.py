# The quickstart COMBO without the Siam-Encoder (paper Table 3, "w/o SEM"): the image encoder alone, no Maskige
# loaded; everything else as configs/combo/combo_tiny_synthetic_s4.py. It measures what the Maskiges add in the
# quickstart setting (figures and how to repeat them: configs/combo/README.md).
_base_ = ['./combo_tiny_synthetic_s4.py']
model = dict(backbone=dict(use_maskige=False))
train_dataloader = dict(dataset=dict(
    pipeline=[t for t in _base_.train_dataloader.dataset.pipeline if t['type'] != 'LoadClipMaskige']))
val_dataloader = dict(dataset=dict(
    pipeline=[t for t in _base_.val_dataloader.dataset.pipeline if t['type'] != 'LoadClipMaskige']))
test_dataloader = dict(dataset=dict(
    pipeline=[t for t in _base_.test_dataloader.dataset.pipeline if t['type'] != 'LoadClipMaskige']))
