"""LogMelTagger (the stand-in tagger of the BAVS smoke test) and AudioTaggingModel (its training)."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from avsseg.models.audio_backbones import LogMelTagger
from avsseg.models.utils.av_tree import AudioVisualTree
from avsseg.registry import MODELS
from avsseg.testing import get_config

init_default_scope('avsseg')
TAGS = 'configs/bavs/trees/synthetic_tags.csv'


def tagger_cfg(**kwargs):
    return dict(get_config('bavs/bavs_tagger_tiny_synthetic_avss.py').model.audio_backbone, **kwargs)


def test_outputs_and_mids_match_the_synthetic_tree():
    torch.manual_seed(0)
    tagger = MODELS.build(tagger_cfg()).eval()
    assert isinstance(tagger, LogMelTagger) and tagger.num_labels == 9
    tree = AudioVisualTree('configs/bavs/trees/synthetic_av_tree.json')
    assert tagger.label_mids == list(tree.mids)
    wave = torch.randn(3, 16000) * 0.1
    probs = tagger(wave)
    assert probs.shape == (3, 9) and torch.equal(probs, tagger.logits(wave).sigmoid())
    tagger.output = 'embedding'
    assert tagger(wave).shape == (3, 128)
    with pytest.raises(ValueError, match='output'):
        MODELS.build(tagger_cfg(output='scores'))
    with pytest.raises(FileNotFoundError):
        MODELS.build(tagger_cfg(label_csv='missing.csv'))


def test_freeze_keeps_eval_mode_and_no_grad():
    tagger = MODELS.build(tagger_cfg(freeze=True))
    tagger.train()
    assert not tagger.training and not any(p.requires_grad for p in tagger.parameters())
    assert not tagger(torch.randn(2, 16000)).requires_grad


def sample(labels, labeled=True, padded=False):
    s = SegDataSample(metainfo=dict(is_labeled=labeled, is_padded=padded, img_path=f'frame{labels}'))
    gt = torch.zeros(1, 4, 4, dtype=torch.long)
    for i, c in enumerate(labels):
        gt[0, i, :] = c
    s.gt_sem_seg = PixelData(data=gt)
    return s


def test_targets_loss_and_noise_tag():
    torch.manual_seed(0)
    model = MODELS.build(get_config('bavs/bavs_tagger_tiny_synthetic_avss.py').model)
    samples = [sample([1, 3]), sample([]), sample([8, 255]), sample([2], labeled=False), sample([2], padded=True)]
    target = model.targets(samples[:3])
    expected = torch.zeros(3, 9)
    expected[0, [0, 2]] = 1
    expected[2, 7] = 1
    assert torch.equal(target, expected)
    with pytest.raises(ValueError, match='outside'):
        model.targets([sample([9])])
    wave = torch.randn(5, 16000) * 0.1
    model.noise_prob = 0.0
    loss = model(dict(audio=wave), samples, mode='loss')['loss_tag']
    # only the 3 labelled real frames count
    ref = torch.nn.functional.binary_cross_entropy_with_logits(model.audio_backbone.logits(wave[:3]), expected)
    assert torch.allclose(loss, ref)
    loss.backward()
    model.noise_prob = 1.0
    noisy, noisy_target = model.add_noise(torch.zeros(2, 16000), expected[:2])
    assert noisy.abs().sum() > 0 and noisy_target[:, 8].eq(1).all()
    assert torch.equal(noisy_target[:, :8], expected[:2, :8])
    model.silence_prob = 1.0
    quiet, quiet_target = model.silence(wave[:3], expected)
    assert quiet.eq(0).all() and quiet_target.eq(0).all()
    with pytest.raises(ValueError, match='noise_tag'):
        MODELS.build(dict(get_config('bavs/bavs_tagger_tiny_synthetic_avss.py').model, noise_tag=None))
