"""Tiny Mask2Former head configs, feature bundles and data samples shared by the query-head tests of this folder.

A helper module (not a test file): ``test_combo_head.py`` and ``test_audio_query_mask2former_head.py`` import it.
"""
import os.path as osp

import torch
from mmengine.config import Config, ConfigDict
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from avsseg.registry import MODELS
from avsseg.structures import AVFeatures

BASE = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', '_base_', 'models', 'combo_r50.py')
IN_CHANNELS = [8, 16, 32, 64]
AUDIO = 16
SIZE = 32  # input size; mask predictions at SIZE / 4
NUM_QUERIES = 4
NUM_LAYERS = 3
# COMBOHead arguments that AudioQueryMask2FormerHead does not take
COMBO_ONLY = ('audio_mlp_channels', 'audio_mlp_layers', 'fusion', 'query_fuse', 'query_layout', 'loss_ada',
              'ada_loss_layers')


def tiny_head_cfg(**overrides):
    """COMBOHead of configs/_base_/models/combo_r50.py shrunk for CPU tests (same structure, small dims)."""
    head = Config.fromfile(BASE).model.decode_head
    head.update(in_channels=IN_CHANNELS, feat_channels=32, out_channels=32, num_queries=NUM_QUERIES,
                audio_channels=AUDIO, audio_mlp_channels=32)
    pd = head.pixel_decoder
    pd.norm_cfg = dict(type='GN', num_groups=8)
    pd.encoder.num_layers = 1
    pd.encoder.layer_cfg.self_attn_cfg.update(embed_dims=32, num_heads=4, num_points=2)
    pd.encoder.layer_cfg.ffn_cfg.update(embed_dims=32, feedforward_channels=64)
    pd.positional_encoding = dict(num_feats=16, normalize=True)
    head.positional_encoding = dict(num_feats=16, normalize=True)
    td = head.transformer_decoder
    td.num_layers = NUM_LAYERS
    td.layer_cfg.self_attn_cfg.update(embed_dims=32, num_heads=4)
    td.layer_cfg.cross_attn_cfg.update(embed_dims=32, num_heads=4)
    td.layer_cfg.ffn_cfg.update(embed_dims=32, feedforward_channels=64)
    head.fusion.update(embed_dims=32, num_heads=4)
    head.train_cfg.num_points = 64
    head.update(overrides)
    return ConfigDict(head)


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
    """``batch * frames`` SegDataSamples, clip-major; ``labeled[t]`` per frame index, ``padded`` per row.

    Ground truth: random classes with a band of ignored pixels; ``pad_to`` is the padded batch input size.
    """
    g = torch.Generator().manual_seed(seed)
    out = []
    for b in range(batch):
        for t in range(frames):
            gt = torch.randint(0, num_classes, (1, SIZE, SIZE), generator=g)
            gt[:, :4] = 255
            s = SegDataSample(gt_sem_seg=PixelData(data=gt))
            s.set_metainfo(
                dict(num_frames=frames, frame_idx=t, img_shape=(SIZE, SIZE), pad_shape=(pad_to, pad_to),
                     ori_shape=(SIZE, SIZE), batch_input_shape=(pad_to, pad_to),
                     is_labeled=True if labeled is None else bool(labeled[t]),
                     is_padded=False if padded is None else bool(padded[b * frames + t])))
            out.append(s)
    return out


def seeded_loss(head, inputs, data_samples, seed=0):
    """``head.loss`` with a fixed seed (mmdet samples the mask-loss points at random)."""
    torch.manual_seed(seed)
    return head.loss(inputs, data_samples, None)
