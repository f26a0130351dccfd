# The tiny CMMS stage 2 with a frozen pretrained audio model, as the paper's frozen AudioSet BEATs (seed001.md §6.5,
# "a second variant freezes a LogMelCNN tagger pre-trained as in the BAVS smoke"): the stand-in tagger of the BAVS
# tiny smoke (configs/bavs/_base_/models/bavs_tagger_tiny_synthetic.py, trained on the synthetic AVSS sounds with
# `python tools/train.py configs/bavs/bavs_tagger_tiny_synthetic_avss.py`, quiet and zero windows included) gives
# its 128-d embedding (the input of its tag layer, as BEATs' pooled tokens) to the AVSC MLP 128 -> 64 -> 8; only the
# MLP trains. Everything else is cmms_avsc_tiny_synthetic_s4_stage2.py. The tagger weights are read once at the
# start of training (init_cfg); the stage-2 checkpoint then holds them, so tools/test.py needs only that file.
_base_ = ['./cmms_avsc_tiny_synthetic_s4_stage2.py', '../bavs/_base_/models/bavs_tagger_tiny_synthetic.py']
tagger_checkpoint = 'work_dirs/bavs_tagger_tiny_synthetic_avss/iter_300.pth'
model = dict(
    audio_front_end=None,  # the tagger has its own Kaldi front end
    audio_backbone=dict(
        _base_.tagger, _delete_=True, output='embedding',
        init_cfg=dict(type='Pretrained', checkpoint=tagger_checkpoint, prefix='audio_backbone.')),
    freeze_audio_backbone=True)
