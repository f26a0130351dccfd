"""Repository configs for tests, and model configs shrunk to CPU-test sizes (as mmdet's ``get_detector_cfg``).

:func:`tiny_model_cfg` keeps a model config's structure and switches (parts, stages, fusion modes, query fusion,
loss terms and weights, class counts, frozen norms, gradient checkpointing) and changes only widths, depths and
sample counts, so a test of a recipe builds and runs the recipe's model in a fraction of a second. Every size it
sets is a module constant below; a test that needs a width reads it from the returned config.
"""
import copy
import os.path as osp
from typing import Callable, Dict, List, Sequence

from mmengine.config import Config, ConfigDict

from avsseg.utils.config_scope import configs_root

#: The repository's ``configs/`` folder (present in a checkout and in an editable install).
CONFIGS_ROOT = configs_root()

# Tiny sizes. ResNets become ResNet-18s of TINY_BASE_CHANNELS and PVT-v2s one block per stage of
# TINY_PVT_EMBED_DIMS x (1, 2, 4, 8): both give stage widths 16/32/64/128.
TINY_BASE_CHANNELS = 16
TINY_PVT_EMBED_DIMS = 16
TINY_PVT_NUM_HEADS = [1, 2, 4, 8]
#: The log-mel CNN that replaces the audio backbone, and its feature size D.
TINY_AUDIO_BACKBONE = dict(type='LogMelCNN', channels=(4, ), out_channels=16)
TINY_AUDIO_CHANNELS = TINY_AUDIO_BACKBONE['out_channels']
#: TPAVI neck output channels; AVSBench decoder widths.
TINY_NECK_CHANNELS = 16
TINY_HEAD_MID_CHANNELS = 8
TINY_HEAD_CHANNELS = 8
# Query heads: embedding width, attention heads, queries, decoder and pixel-decoder layers, deformable sampling
# points, GroupNorm groups, and the points the mask losses sample.
TINY_EMBED_DIMS = 32
TINY_NUM_HEADS = 4
TINY_NUM_QUERIES = 4
TINY_DECODER_LAYERS = 3
TINY_ENCODER_LAYERS = 1
TINY_DEFORM_POINTS = 2
TINY_NORM_GROUPS = 8
TINY_LOSS_POINTS = 64
#: Padding divisor that replaces a fixed padding size of the data preprocessor.
TINY_SIZE_DIVISOR = 32

# Keys that load weight files.
WEIGHT_KEYS = ('pretrained', 'init_cfg')


def get_config(path: str) -> Config:
    """A repository config, ``path`` relative to ``configs/`` (``'combo/combo_r50_s4.py'``,
    ``'_base_/models/tpavi_r50.py'``), read with ``Config.fromfile`` (a fresh object on every call).

    Raises:
        FileNotFoundError: naming the file looked for (also when avsseg is installed without its ``configs/``).
    """
    file = osp.normpath(osp.join(CONFIGS_ROOT, path))
    if not osp.isfile(file):
        raise FileNotFoundError(f'get_config: no config {file} ({path!r} relative to {CONFIGS_ROOT})')
    return Config.fromfile(file)


def _type_name(part: dict, where: str) -> str:
    kind = part.get('type')
    if not isinstance(kind, str):
        raise ValueError(f'tiny_model_cfg: {where} has no type name (type={kind!r})')
    return kind.split('.')[-1]  # 'mmdet.X' and 'X' are the same part here


def _drop_weights(part: dict) -> None:
    for key in WEIGHT_KEYS:
        part.pop(key, None)


def _resnet(backbone: dict) -> List[int]:
    backbone.update(depth=18, stem_channels=TINY_BASE_CHANNELS, base_channels=TINY_BASE_CHANNELS)
    indices = backbone.get('out_indices', (0, 1, 2, 3))
    return [TINY_BASE_CHANNELS * 2**i for i in indices]  # BasicBlock: no expansion


def _pvt(backbone: dict) -> List[int]:
    backbone.update(embed_dims=TINY_PVT_EMBED_DIMS, num_layers=[1, 1, 1, 1], num_heads=list(TINY_PVT_NUM_HEADS))
    indices = backbone.get('out_indices', (0, 1, 2, 3))
    return [TINY_PVT_EMBED_DIMS * TINY_PVT_NUM_HEADS[i] for i in indices]


def _siam_encoder(backbone: dict) -> List[int]:
    channels = _shrink_backbone(backbone['backbone'], 'backbone.backbone')
    backbone['in_channels'] = channels
    return channels


def _frozen_backbone(backbone: dict) -> List[int]:
    return _shrink_backbone(backbone['backbone'], 'backbone.backbone')


# type name -> shrinks the dict in place and returns the widths of the levels it outputs
_BACKBONES: Dict[str, Callable[[dict], List[int]]] = {
    'ResNet': _resnet,
    'ResNetV1c': _resnet,
    'ResNetV1d': _resnet,
    'PVTv2': _pvt,
    'PyramidVisionTransformerV2': _pvt,
    'SiamEncoder': _siam_encoder,
    'FrozenBackbone': _frozen_backbone,
}


def _shrink_backbone(backbone: dict, where: str) -> List[int]:
    kind = _type_name(backbone, where)
    if kind not in _BACKBONES:
        raise ValueError(f'tiny_model_cfg: no tiny size for {where} type {kind!r} (known: {sorted(_BACKBONES)}); '
                         'add it to avsseg/testing/model_configs.py')
    _drop_weights(backbone)
    return _BACKBONES[kind](backbone)


def _tpavi_neck(neck: dict, visual: Sequence[int]) -> List[int]:
    neck.update(in_channels=list(visual), channels=TINY_NECK_CHANNELS, audio_channels=TINY_AUDIO_CHANNELS)
    return [TINY_NECK_CHANNELS] * len(visual)


def _avsbench_head(head: dict, in_channels: Sequence[int]) -> None:
    if len(set(in_channels)) != 1:
        raise ValueError(f'tiny_model_cfg: AVSBenchHead takes levels of one width, got {list(in_channels)}')
    head.update(in_channels=in_channels[0], mid_channels=TINY_HEAD_MID_CHANNELS, channels=TINY_HEAD_CHANNELS)


def _attention(cfg: dict) -> None:
    cfg.update(embed_dims=TINY_EMBED_DIMS, num_heads=TINY_NUM_HEADS)


def _ffn(cfg: dict) -> None:
    cfg.update(embed_dims=TINY_EMBED_DIMS, feedforward_channels=2 * TINY_EMBED_DIMS)


def _query_head(head: dict, in_channels: Sequence[int]) -> None:
    """Mask2Former-style heads (``AudioQueryMask2FormerHead`` and its subclasses)."""
    head.update(in_channels=list(in_channels), feat_channels=TINY_EMBED_DIMS, out_channels=TINY_EMBED_DIMS,
                num_queries=TINY_NUM_QUERIES)
    if head.get('audio_channels') is not None:  # None: a head without audio stays one
        head['audio_channels'] = TINY_AUDIO_CHANNELS
    if 'audio_mlp_channels' in head:
        head['audio_mlp_channels'] = TINY_EMBED_DIMS
    pixel_decoder = head['pixel_decoder']
    if pixel_decoder.get('norm_cfg', {}).get('type') == 'GN':
        pixel_decoder['norm_cfg'] = dict(pixel_decoder['norm_cfg'], num_groups=TINY_NORM_GROUPS)
    encoder = pixel_decoder['encoder']
    encoder['num_layers'] = TINY_ENCODER_LAYERS
    _attention(encoder['layer_cfg']['self_attn_cfg'])
    encoder['layer_cfg']['self_attn_cfg']['num_points'] = TINY_DEFORM_POINTS
    _ffn(encoder['layer_cfg']['ffn_cfg'])
    for positional in (pixel_decoder['positional_encoding'], head['positional_encoding']):
        positional['num_feats'] = TINY_EMBED_DIMS // 2
    decoder = head['transformer_decoder']
    decoder['num_layers'] = TINY_DECODER_LAYERS
    _attention(decoder['layer_cfg']['self_attn_cfg'])
    _attention(decoder['layer_cfg']['cross_attn_cfg'])
    _ffn(decoder['layer_cfg']['ffn_cfg'])
    if head.get('fusion') is not None:
        _attention(head['fusion'])
    if head.get('train_cfg') is not None:
        head['train_cfg']['num_points'] = TINY_LOSS_POINTS


def _auss_head(head: dict, in_channels: Sequence[int]) -> None:
    """AUSSHead: the query head, and its A2U with one encoder layer (none stays none: that is an ablation)."""
    num_queries = head.get('num_queries')
    _query_head(head, in_channels)
    unmixing = head.get('unmixing')
    if unmixing is not None:
        if unmixing.get('use_number_proj') is False:  # then the queries are the clip's T audio features
            head['num_queries'] = num_queries
        if unmixing.get('num_layers') != 0:
            unmixing['num_layers'] = TINY_ENCODER_LAYERS
        unmixing.update(num_heads=TINY_NUM_HEADS, feedforward_channels=2 * TINY_EMBED_DIMS)


def _avff_neck(neck: dict, visual: Sequence[int]) -> List[int]:
    """AVFFNeck: stage 1 passes through, stages 2-4 fused at the query heads' embedding width."""
    neck.update(in_channels=list(visual), audio_channels=TINY_AUDIO_CHANNELS, channels=TINY_EMBED_DIMS,
                num_heads=TINY_NUM_HEADS)
    if neck.get('norm_cfg', {}).get('type') == 'GN':
        neck['norm_cfg'] = dict(neck['norm_cfg'], num_groups=TINY_NORM_GROUPS)
    return [visual[0]] + [TINY_EMBED_DIMS] * (len(visual) - 1)


def _autr_head(head: dict, in_channels: Sequence[int]) -> None:
    """AuTRHead: deformable encoder / decoder, CrossModalFPN and the dynamic mask head at tiny widths."""
    head.update(in_channels=list(in_channels), feat_channels=TINY_EMBED_DIMS, num_queries=TINY_NUM_QUERIES)
    if head.get('audio_channels') is not None:
        head['audio_channels'] = TINY_EMBED_DIMS  # the neck's projected audio
    for key, cross in (('encoder', False), ('decoder', True)):
        part = head.setdefault(key, {})
        part['num_layers'] = TINY_ENCODER_LAYERS if key == 'encoder' else TINY_DECODER_LAYERS
        layer = part.setdefault('layer_cfg', {})
        layer.setdefault('self_attn_cfg', {})['num_heads'] = TINY_NUM_HEADS
        deform = layer.setdefault('cross_attn_cfg' if cross else 'self_attn_cfg', {})
        deform.update(num_heads=TINY_NUM_HEADS, num_points=TINY_DEFORM_POINTS)
        layer.setdefault('ffn_cfg', {})['feedforward_channels'] = 2 * TINY_EMBED_DIMS
    pixel_decoder = head.setdefault('pixel_decoder', dict(type='CrossModalFPN'))
    pixel_decoder.update(channels=TINY_EMBED_DIMS, mask_channels=TINY_EMBED_DIMS, num_heads=TINY_NUM_HEADS,
                         feedforward_channels=2 * TINY_EMBED_DIMS)
    for key in ('in_channels', 'stage1_channels', 'audio_channels'):
        pixel_decoder.pop(key, None)  # filled in by the head


_NECKS = {'TPAVINeck': _tpavi_neck, 'AVFFNeck': _avff_neck}
_HEADS = {'AVSBenchHead': _avsbench_head, 'AudioQueryMask2FormerHead': _query_head, 'COMBOHead': _query_head,
          'AUSSHead': _auss_head, 'AuTRHead': _autr_head}


def tiny_model_cfg(model_cfg: dict) -> ConfigDict:
    """The same model at tiny sizes, for CPU tests (a deep copy; ``model_cfg`` is not changed).

    Structure and switches stay; sizes change:

    - visual backbone (also inside a ``SiamEncoder`` or a ``FrozenBackbone``): a ResNet becomes a ResNet-18 with 16
      base channels, a PVT-v2 one block per stage with embed dims 16 (heads 1/2/4/8); both give levels of
      16/32/64/128 channels;
    - audio backbone (VGGish, LogMelCNN): ``LogMelCNN(channels=(4, ), out_channels=16)`` (VGGish cannot be made
      small);
    - ``TPAVINeck``: 16 channels; ``AVSBenchHead``: 8 mid / 8 channels;
    - query heads (``AudioQueryMask2FormerHead``, ``COMBOHead``, ``AUSSHead``): 32-dim embeddings with 4
      attention heads, 4 queries, 3 decoder layers, 1 pixel-decoder layer with 2 sampling points, GroupNorm of 8
      groups, audio MLP 32 wide, BFM 32-dim, A2U with 1 encoder layer (0 stays 0), 64 points for the mask losses;
    - ``AVFFNeck`` 32 channels and 4 heads; ``AuTRHead`` 32-dim with 4 heads, 4 queries, 1 encoder and 3 decoder
      layers with 2 sampling points, ``CrossModalFPN`` 32 channels (FFN 64, C_m 32);
    - input widths follow (``in_channels`` of wrappers, necks and heads; ``audio_channels``);
    - no weight files: ``pretrained`` / ``init_cfg`` of the segmentor and backbones are dropped;
    - a fixed padding size of the data preprocessor (``size``) becomes ``size_divisor=32``, so tiny frames are not
      padded to the full crop.

    Args:
        model_cfg: a segmentor config (``Config.fromfile(...).model`` or a dict) with a known backbone, neck and
            heads (see ``_BACKBONES``, ``_NECKS``, ``_HEADS``).

    Returns:
        The shrunk model config (a ``ConfigDict``), buildable with ``avsseg.registry.MODELS.build``.

    Raises:
        ValueError: a part without known tiny sizes, named by its key and type.
    """
    model = copy.deepcopy(ConfigDict(model_cfg))
    _drop_weights(model)
    visual = _shrink_backbone(model['backbone'], 'backbone')
    audio = model.get('audio_backbone')
    if audio is not None:
        kind = _type_name(audio, 'audio_backbone')
        if kind not in ('VGGish', 'LogMelCNN'):
            raise ValueError(f'tiny_model_cfg: no tiny size for audio_backbone type {kind!r} (known: VGGish, '
                             'LogMelCNN)')
        model['audio_backbone'] = ConfigDict(TINY_AUDIO_BACKBONE)
    head_inputs = visual
    if model.get('neck') is not None:
        kind = _type_name(model['neck'], 'neck')
        if kind not in _NECKS:
            raise ValueError(f'tiny_model_cfg: no tiny size for neck type {kind!r} (known: {sorted(_NECKS)})')
        head_inputs = _NECKS[kind](model['neck'], visual)
    heads = [('decode_head', model['decode_head'])]
    aux = model.get('auxiliary_head')
    if aux is not None:
        heads += [(f'auxiliary_head[{i}]', h) for i, h in enumerate(aux)] if isinstance(aux, list) else [
            ('auxiliary_head', aux)]
    for where, head in heads:
        kind = _type_name(head, where)
        if kind not in _HEADS:
            raise ValueError(f'tiny_model_cfg: no tiny size for {where} type {kind!r} (known: {sorted(_HEADS)})')
        _HEADS[kind](head, head_inputs)
    preprocessor = model.get('data_preprocessor')
    if preprocessor is not None and preprocessor.get('size') is not None:
        preprocessor.update(size=None, size_divisor=TINY_SIZE_DIVISOR)
    return model
