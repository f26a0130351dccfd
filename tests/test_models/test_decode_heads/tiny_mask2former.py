"""Head-level builders for the query-head tests of this folder: the tiny COMBOHead of ``avsseg.testing``, a plain
``AudioQueryMask2FormerHead`` with the same decoder, feature bundles as a backbone would give the head, and data
samples of ``avsseg.testing.demo_clip_inputs``.

A helper module (not a test file): ``test_combo_head.py`` and ``test_audio_query_mask2former_head.py`` import it.
"""
import torch

from avsseg.registry import MODELS
from avsseg.structures import AVFeatures
from avsseg.testing import demo_clip_inputs, get_config, tiny_model_cfg
from avsseg.testing.model_configs import TINY_AUDIO_CHANNELS, TINY_DECODER_LAYERS, TINY_NUM_QUERIES

BASE = '_base_/models/combo_r50.py'  # relative to configs/ (avsseg.testing.get_config)
AUDIO = TINY_AUDIO_CHANNELS
SIZE = 32  # input size; mask predictions at SIZE / 4
NUM_QUERIES = TINY_NUM_QUERIES
NUM_LAYERS = TINY_DECODER_LAYERS
# COMBOHead arguments that AudioQueryMask2FormerHead does not take
COMBO_ONLY = ('audio_mlp_channels', 'audio_mlp_layers', 'fusion', 'query_fuse', 'query_layout', 'loss_ada',
              'ada_loss_layers')


def tiny_head_cfg(**overrides):
    """COMBOHead of configs/_base_/models/combo_r50.py at the sizes of ``avsseg.testing.tiny_model_cfg``."""
    head = tiny_model_cfg(get_config(BASE).model).decode_head
    head.update(overrides)
    return head


IN_CHANNELS = tiny_head_cfg().in_channels


def tiny_plain_head_cfg(**overrides):
    """The same decoder as :func:`tiny_head_cfg` as a plain ``AudioQueryMask2FormerHead`` (no audio, no COMBO part)."""
    head = tiny_head_cfg()
    for key in COMBO_ONLY:
        head.pop(key, None)
    head.update(type='AudioQueryMask2FormerHead', audio_channels=None)
    head.update(overrides)
    return head


def build_head(cfg=None, **overrides):
    """A seeded, initialised head from ``cfg`` (default: the tiny COMBOHead with ``overrides``)."""
    torch.manual_seed(0)
    head = MODELS.build(cfg if cfg is not None else tiny_head_cfg(**overrides))
    head.init_weights()
    return head


def feats(num, num_frames=None, seed=0, audio=True):
    """A bundle of ``num`` frames: the four backbone levels (strides 4..32) and an ``[num, AUDIO]`` audio feature."""
    g = torch.Generator().manual_seed(seed)
    visual = tuple(torch.randn(num, c, SIZE // s, SIZE // s, generator=g) for c, s in zip(IN_CHANNELS, [4, 8, 16, 32]))
    audio_feats = torch.randn(num, AUDIO, generator=g) if audio else None
    return AVFeatures(visual, audio=audio_feats, num_frames=num_frames if num_frames is not None else num)


def samples(batch, frames, labeled=None, padded=None, seed=0, num_classes=2, pad_to=SIZE):
    """``batch * frames`` SegDataSamples of ``SIZE`` x ``SIZE`` frames, clip-major, padded to ``pad_to`` (the batch
    input size).

    ``labeled`` and ``padded``: T flags for every clip or one list of T per clip (``demo_clip_batch``); by default
    every real frame is labelled. Ground truth: random classes with a band of 4 ignored rows.
    """
    return demo_clip_inputs(
        data_preprocessor=dict(type='AVSDataPreprocessor', size=(pad_to, pad_to)), num_clips=batch,
        num_frames=frames, size=SIZE, num_classes=num_classes, labeled=labeled, padded=padded, ignore_rows=4,
        seed=seed)['data_samples']


def seeded_loss(head, inputs, data_samples, seed=0):
    """``head.loss`` with a fixed seed (mmdet samples the mask-loss points at random)."""
    torch.manual_seed(seed)
    return head.loss(inputs, data_samples, None)
