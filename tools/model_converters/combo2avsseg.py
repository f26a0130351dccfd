"""Convert the released COMBO checkpoints (yannqi/COMBO-AVS, detectron2 layout) into avsseg's COMBO model.

    python tools/model_converters/combo2avsseg.py model_final.pth combo_pvt_s4_avsseg.pth \
        --config configs/combo/combo_pvt_s4.py
    python tools/test.py configs/combo/combo_pvt_s4.py combo_pvt_s4_avsseg.pth \
        --cfg-options model.decode_head.query_layout=official

Input: a detectron2 checkpoint, ``.pth`` (``torch.save`` of ``{'model': state_dict, 'optimizer': ...,
'iteration': ...}``) or ``.pkl`` (``pickle`` of ``{'model': {name: ndarray}, ...}``). Only ``model`` is kept.
``.pth`` files are read with ``torch.load(weights_only=True)``; ``.pkl`` files with an unpickler that only
rebuilds numpy arrays. Neither runs code from the file. ``--unsafe-load`` (``weights_only=False``) exists for a
``.pth`` whose extra entries (trainer state) the safe loader refuses; use it only on a file you trust.

Output: ``{'state_dict': ..., 'meta': ...}`` with avsseg key names (loads with ``weights_only=True``).

Mapping (:data:`PREFIX_MAP`, then one rename table per part):

====================================  =======================================  ==================================
official (detectron2)                 avsseg                                   part
====================================  =======================================  ==================================
``backbone.*``                        ``backbone.image_encoder.*``             ResNet-50 (d2 names) / PVT-v2-b5
``pre_sam_backbone.*``                ``backbone.separate_maskige_encoder.*``  Maskige encoder (same)
``scale_factor_module.{i}.fc{1,2}``   ``backbone.gates.{i}.se.conv{1,2}.conv`` SEM channel gates (Linear->1x1)
``audio_backbone.*``                  ``audio_backbone.*``                     VGGish (torchvggish names)
``sem_seg_head.pixel_decoder.*``      ``decode_head.pixel_decoder.*``          MSDeformAttn pixel decoder
``sem_seg_head.fusion_module.*``      ``decode_head.fusion.*``                 BFM (``AVFuse`` MHA-B)
``sem_seg_head.audio_transformation`` ``decode_head.audio_mlp.*``              audio MLP 128-4096-4096-256
``sem_seg_head.predictor.*``          ``decode_head.*``                        Mask2Former transformer decoder
``criterion.empty_weight``            (dropped)                                loss buffer
====================================  =======================================  ==================================

ResNet: detectron2 ``stem.conv1`` / ``res{2-5}.{b}.conv{k}[.norm]`` / ``shortcut[.norm]`` -> mmseg
``conv1``/``bn1`` / ``layer{1-4}.{b}.conv{k}``/``bn{k}`` / ``downsample.{0,1}``; detectron2's FrozenBN has no
``num_batches_tracked``, which is written as 0. PVT-v2: official PVT names, converted by mmdet's ``pvt_convert``
(``q``+``kv`` -> ``attn.in_proj``, MLP linears -> 1x1 convs). Pixel decoder (d2 -> mmdet): ``input_proj.{i}.{0,1}``
-> ``input_convs.{i}.{conv,gn}``, ``transformer.level_embed`` -> ``level_encoding.weight``, encoder layer
``norm1/linear1/linear2/norm2`` -> ``norms.0/ffn.layers.0.0/ffn.layers.1/norms.1``, ``adapter_k``/``layer_k`` ->
``lateral_convs``/``output_convs``, ``mask_features`` -> ``mask_feature``. Decoder: per layer ``cross-attn norm /
self-attn norm / FFN norm`` -> ``norms.0/1/2`` (mmdet's order cross -> self -> FFN is the d2 order), ``decoder_norm``
-> ``post_norm``, ``class_embed`` -> ``cls_embed``, ``mask_embed.layers.{0,1,2}`` -> ``mask_embed.{0,2,4}``.

Behaviour switches: the released models add the audio to the queries in the official decoder's layout (see
``COMBOHead(query_layout='official')``), so evaluate a converted checkpoint with
``--cfg-options model.decode_head.query_layout=official`` (the tool prints the command and stores the options in
``meta['official_cfg_options']``). The official PVT-v2 LayerNorm epsilons are the default of avsseg's ``PVTv2``
backbone, so nothing needs switching for them.

Every official key must be converted and, with ``--config``, the result must match the model's state dict
exactly (names and shapes); otherwise the tool stops and lists the offending keys. ``--allow-missing`` accepts
model keys absent from the checkpoint (they keep their initialisation); ``--allow-unexpected`` drops official
keys no rule knows.
"""
import argparse
import codecs
import collections
import os
import os.path as osp
import pickle
import re
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

#: Config options that make avsseg's COMBO compute what the released model computes (written into the meta).
OFFICIAL_CFG_OPTIONS = {'model.decode_head.query_layout': 'official'}

# ----------------------------------------------------------------------------------------------- mapping
#: Official top-level prefix -> (avsseg prefix, name of the rename function applied to the remainder).
PREFIX_MAP = OrderedDict([
    ('backbone.', ('backbone.image_encoder.', 'visual_backbone')),
    ('pre_sam_backbone.', ('backbone.separate_maskige_encoder.', 'visual_backbone')),
    ('scale_factor_module.', ('backbone.gates.', 'gates')),
    ('audio_backbone.', ('audio_backbone.', 'vggish')),
    ('sem_seg_head.pixel_decoder.', ('decode_head.pixel_decoder.', 'pixel_decoder')),
    ('sem_seg_head.fusion_module.', ('decode_head.fusion.', 'fusion')),
    ('sem_seg_head.audio_transformation.', ('decode_head.audio_mlp.', 'audio_mlp')),
    ('sem_seg_head.predictor.', ('decode_head.', 'predictor')),
])
#: Official keys with no avsseg counterpart (state of the loss, not of the network).
DROPPED_KEYS = ('criterion.empty_weight', )

# Rename tables: (regex on the key after the official prefix, replacement). A replacement is a
# ``re.sub`` template or a function of the match object.
RESNET_RULES = [
    (r'^stem\.conv1\.weight$', 'conv1.weight'),
    (r'^stem\.conv1\.norm\.(weight|bias|running_mean|running_var)$', r'bn1.\1'),
    (r'^res([2-5])\.(\d+)\.conv(\d)\.weight$', lambda m: f'layer{int(m[1]) - 1}.{m[2]}.conv{m[3]}.weight'),
    (r'^res([2-5])\.(\d+)\.conv(\d)\.norm\.(weight|bias|running_mean|running_var)$',
     lambda m: f'layer{int(m[1]) - 1}.{m[2]}.bn{m[3]}.{m[4]}'),
    (r'^res([2-5])\.(\d+)\.shortcut\.weight$', lambda m: f'layer{int(m[1]) - 1}.{m[2]}.downsample.0.weight'),
    (r'^res([2-5])\.(\d+)\.shortcut\.norm\.(weight|bias|running_mean|running_var)$',
     lambda m: f'layer{int(m[1]) - 1}.{m[2]}.downsample.1.{m[3]}'),
]
GATE_RULES = [
    (r'^(\d+)\.fc1\.(weight|bias)$', r'\1.se.conv1.conv.\2'),
    (r'^(\d+)\.fc2\.(weight|bias)$', r'\1.se.conv2.conv.\2'),
]
VGGISH_RULES = [
    (r'^(features\.\d+\.(?:weight|bias))$', r'\1'),
    (r'^(embeddings\.[024]\.(?:weight|bias))$', r'\1'),
]
PIXEL_DECODER_RULES = [
    (r'^input_proj\.(\d+)\.0\.(weight|bias)$', r'input_convs.\1.conv.\2'),
    (r'^input_proj\.(\d+)\.1\.(weight|bias)$', r'input_convs.\1.gn.\2'),
    (r'^transformer\.level_embed$', 'level_encoding.weight'),
    (r'^transformer\.encoder\.layers\.(\d+)\.self_attn\.(sampling_offsets|attention_weights|value_proj|output_proj)'
     r'\.(weight|bias)$', r'encoder.layers.\1.self_attn.\2.\3'),
    (r'^transformer\.encoder\.layers\.(\d+)\.norm1\.(weight|bias)$', r'encoder.layers.\1.norms.0.\2'),
    (r'^transformer\.encoder\.layers\.(\d+)\.linear1\.(weight|bias)$', r'encoder.layers.\1.ffn.layers.0.0.\2'),
    (r'^transformer\.encoder\.layers\.(\d+)\.linear2\.(weight|bias)$', r'encoder.layers.\1.ffn.layers.1.\2'),
    (r'^transformer\.encoder\.layers\.(\d+)\.norm2\.(weight|bias)$', r'encoder.layers.\1.norms.1.\2'),
    # adapter_k / layer_k: k = 1 is the highest-resolution FPN level; mmdet lists them low -> high resolution
    (r'^adapter_(\d+)\.weight$', lambda m, n_fpn: f'lateral_convs.{n_fpn - int(m[1])}.conv.weight'),
    (r'^adapter_(\d+)\.norm\.(weight|bias)$', lambda m, n_fpn: f'lateral_convs.{n_fpn - int(m[1])}.gn.{m[2]}'),
    (r'^layer_(\d+)\.weight$', lambda m, n_fpn: f'output_convs.{n_fpn - int(m[1])}.conv.weight'),
    (r'^layer_(\d+)\.norm\.(weight|bias)$', lambda m, n_fpn: f'output_convs.{n_fpn - int(m[1])}.gn.{m[2]}'),
    (r'^mask_features\.(weight|bias)$', r'mask_feature.\1'),
]
FUSION_RULES = [
    (r'^audio_pos\.weight$', 'audio_pos.weight'),
    # level_embed [L, C] (nn.Embedding) -> level_embeds.{i} [C]: split in convert_fusion
    (r'^b_attn\.layer_norm_v_list\.(\d+)\.(weight|bias)$', r'visual_norms.\1.\2'),
    (r'^b_attn\.layer_norm_a_list\.(\d+)\.(weight|bias)$', r'audio_norms.\1.\2'),
    (r'^b_attn\.attn_list\.(\d+)\.v_proj\.(weight|bias)$', r'attentions.\1.query_proj.\2'),
    (r'^b_attn\.attn_list\.(\d+)\.a_proj\.(weight|bias)$', r'attentions.\1.key_proj.\2'),
    (r'^b_attn\.attn_list\.(\d+)\.values_v_proj\.(weight|bias)$', r'attentions.\1.visual_value_proj.\2'),
    (r'^b_attn\.attn_list\.(\d+)\.values_a_proj\.(weight|bias)$', r'attentions.\1.audio_value_proj.\2'),
    (r'^b_attn\.attn_list\.(\d+)\.out_v_proj\.(weight|bias)$', r'attentions.\1.visual_out_proj.\2'),
    (r'^b_attn\.attn_list\.(\d+)\.out_a_proj\.(weight|bias)$', r'attentions.\1.audio_out_proj.\2'),
    (r'^b_attn\.gamma_v_list\.(\d+)$', r'gamma_v.\1'),
    (r'^b_attn\.gamma_a$', 'gamma_a'),
]
AUDIO_MLP_RULES = [
    (r'^embeddings\.([024])\.(weight|bias)$', lambda m: f'layers.{int(m[1]) // 2}.{m[2]}'),
]
PREDICTOR_RULES = [
    (r'^transformer_cross_attention_layers\.(\d+)\.multihead_attn\.(in_proj_weight|in_proj_bias|out_proj\.weight|'
     r'out_proj\.bias)$', r'transformer_decoder.layers.\1.cross_attn.attn.\2'),
    (r'^transformer_cross_attention_layers\.(\d+)\.norm\.(weight|bias)$', r'transformer_decoder.layers.\1.norms.0.\2'),
    (r'^transformer_self_attention_layers\.(\d+)\.self_attn\.(in_proj_weight|in_proj_bias|out_proj\.weight|'
     r'out_proj\.bias)$', r'transformer_decoder.layers.\1.self_attn.attn.\2'),
    (r'^transformer_self_attention_layers\.(\d+)\.norm\.(weight|bias)$', r'transformer_decoder.layers.\1.norms.1.\2'),
    (r'^transformer_ffn_layers\.(\d+)\.linear1\.(weight|bias)$', r'transformer_decoder.layers.\1.ffn.layers.0.0.\2'),
    (r'^transformer_ffn_layers\.(\d+)\.linear2\.(weight|bias)$', r'transformer_decoder.layers.\1.ffn.layers.1.\2'),
    (r'^transformer_ffn_layers\.(\d+)\.norm\.(weight|bias)$', r'transformer_decoder.layers.\1.norms.2.\2'),
    (r'^decoder_norm\.(weight|bias)$', r'transformer_decoder.post_norm.\1'),
    (r'^(query_feat|query_embed|level_embed)\.weight$', r'\1.weight'),
    (r'^input_proj\.(\d+)\.(weight|bias)$', r'decoder_input_projs.\1.\2'),
    (r'^class_embed\.(weight|bias)$', r'cls_embed.\1'),
    (r'^mask_embed\.layers\.([0-2])\.(weight|bias)$', lambda m: f'mask_embed.{2 * int(m[1])}.{m[2]}'),
]


class ConversionError(RuntimeError):
    """Keys that cannot be converted / do not match the model."""


def _apply_rules(part: str, state: Dict[str, torch.Tensor], rules, *extra) -> Tuple[Dict, List[str]]:
    out, unmatched = OrderedDict(), []
    compiled = [(re.compile(p), r) for p, r in rules]
    for key, value in state.items():
        for pattern, repl in compiled:
            match = pattern.match(key)
            if match is None:
                continue
            new = repl(match, *extra) if callable(repl) else match.expand(repl)
            if new in out:
                raise ConversionError(f'{part}: two official keys map to {new!r}')
            out[new] = value
            break
        else:
            unmatched.append(key)
    return out, unmatched


def convert_resnet(state):
    out, unmatched = _apply_rules('ResNet', state, RESNET_RULES)
    # detectron2's FrozenBatchNorm2d has no counter; mmseg's BN does (unused in eval-mode norm layers)
    for key in [k for k in out if k.endswith('.running_mean')]:
        out[key[:-len('running_mean')] + 'num_batches_tracked'] = torch.tensor(0, dtype=torch.long)
    return out, unmatched


def convert_pvt(state):
    from mmdet.models.backbones.pvt import pvt_convert
    known = re.compile(r'^(patch_embed[1-4]\.(proj|norm)\.|block[1-4]\.\d+\.|norm[1-4]\.)')
    unmatched = [k for k in state if not known.match(k)]
    converted = pvt_convert(OrderedDict((k, v) for k, v in state.items() if known.match(k)))
    return converted, unmatched


def convert_visual_backbone(state):
    if any(k.startswith('stem.') for k in state):
        return convert_resnet(state)
    if any(k.startswith('patch_embed1.') for k in state):
        return convert_pvt(state)
    raise ConversionError('visual backbone is neither a detectron2 ResNet (stem.*) nor a PVT-v2 (patch_embed1.*); '
                          f'first keys: {list(state)[:5]}')


def convert_gates(state):
    out, unmatched = _apply_rules('gates', state, GATE_RULES)
    # Linear weights [C_out, C_in] -> the SE layer's 1x1 conv weights [C_out, C_in, 1, 1]
    return OrderedDict((k, v[:, :, None, None] if k.endswith('weight') and v.dim() == 2 else v)
                       for k, v in out.items()), unmatched


def convert_pixel_decoder(state):
    n_fpn = len([k for k in state if re.match(r'^adapter_\d+\.weight$', k)])
    return _apply_rules('pixel decoder', state, PIXEL_DECODER_RULES, n_fpn)


def convert_fusion(state):
    state = OrderedDict(state)
    level_embed = state.pop('level_embed.weight', None)
    out, unmatched = _apply_rules('fusion', state, FUSION_RULES)
    if level_embed is not None:
        for i, row in enumerate(level_embed):
            out[f'level_embeds.{i}'] = row.clone()
    return out, unmatched


CONVERTERS: Dict[str, Callable] = dict(
    visual_backbone=convert_visual_backbone,
    gates=convert_gates,
    vggish=lambda s: _apply_rules('VGGish', s, VGGISH_RULES),
    pixel_decoder=convert_pixel_decoder,
    fusion=convert_fusion,
    audio_mlp=lambda s: _apply_rules('audio MLP', s, AUDIO_MLP_RULES),
    predictor=lambda s: _apply_rules('predictor', s, PREDICTOR_RULES),
)


def convert_state_dict(official: Dict[str, torch.Tensor],
                       allow_unexpected: bool = False) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Official COMBO state dict -> ``(avsseg state dict, official keys that were dropped)``.

    Raises:
        ConversionError: official keys that no rule converts (unless ``allow_unexpected``).
    """
    groups: Dict[str, OrderedDict] = OrderedDict((p, OrderedDict()) for p in PREFIX_MAP)
    unmatched, dropped = [], []
    for key, value in official.items():
        if key.startswith('module.'):
            key = key[len('module.'):]
        if key in DROPPED_KEYS:
            dropped.append(key)
            continue
        # longest prefix first: 'backbone.' must not take 'pre_sam_backbone.'
        prefix = next((p for p in sorted(PREFIX_MAP, key=len, reverse=True) if key.startswith(p)), None)
        if prefix is None:
            unmatched.append(key)
        else:
            groups[prefix][key[len(prefix):]] = value
    out = OrderedDict()
    for prefix, state in groups.items():
        if not state:
            continue
        new_prefix, converter = PREFIX_MAP[prefix]
        converted, bad = CONVERTERS[converter](state)
        unmatched.extend(prefix + k for k in bad)
        for k, v in converted.items():
            out[new_prefix + k] = v
    if unmatched:
        if not allow_unexpected:
            raise ConversionError(f'{len(unmatched)} official keys have no avsseg counterpart (use '
                                  f'--allow-unexpected to drop them): {_listing(unmatched)}')
        dropped.extend(unmatched)
    return out, dropped


def _listing(keys: Sequence[str], limit: int = 20) -> str:
    keys = sorted(keys)
    more = f' ... and {len(keys) - limit} more' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def check_against_model(converted: Dict[str, torch.Tensor], model_state: Dict[str, torch.Tensor],
                        allow_missing: bool = False) -> List[str]:
    """Compares names and shapes with a model's ``state_dict()``; returns the model keys left missing.

    Raises:
        ConversionError: converted keys the model does not have, shape mismatches, or (unless
            ``allow_missing``) model keys the checkpoint does not provide.
    """
    unexpected = [k for k in converted if k not in model_state]
    mismatched = [f'{k}: checkpoint {list(v.shape)} vs model {list(model_state[k].shape)}'
                  for k, v in converted.items() if k in model_state and tuple(v.shape) != tuple(model_state[k].shape)]
    missing = [k for k in model_state if k not in converted]
    problems = []
    if unexpected:
        problems.append(f'{len(unexpected)} converted keys are not in the model: {_listing(unexpected)}')
    if mismatched:
        problems.append(f'{len(mismatched)} shape mismatches: {_listing(mismatched)}')
    if missing and not allow_missing:
        problems.append(f'{len(missing)} model keys are not in the checkpoint (use --allow-missing to keep their '
                        f'initialisation): {_listing(missing)}')
    if problems:
        raise ConversionError('the converted checkpoint does not fit the model:\n  ' + '\n  '.join(problems))
    return missing


# ----------------------------------------------------------------------------------------------- loading
try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray


class _NumpyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays, dicts and scalars; refuses every other global (detectron2 ``.pkl`` weights)."""

    def find_class(self, module, name):
        if module in ('numpy.core.multiarray', 'numpy._core.multiarray') and name in ('_reconstruct', 'scalar'):
            return getattr(_multiarray, name)
        if module == 'numpy' and name in ('ndarray', 'dtype'):
            return getattr(np, name)
        if module == 'numpy.dtypes' and name.endswith('DType'):  # numpy >= 2 pickles dtypes by class
            return getattr(np.dtypes, name)
        if (module, name) == ('collections', 'OrderedDict'):
            return collections.OrderedDict
        if (module, name) == ('_codecs', 'encode'):
            return _latin1_encode
        raise pickle.UnpicklingError(f'global {module}.{name} is not allowed in a weights .pkl')


def _latin1_encode(text, encoding='latin1'):
    if not isinstance(text, str) or encoding.replace('-', '_').lower() not in ('latin1', 'latin_1'):
        raise pickle.UnpicklingError(f'_codecs.encode is only allowed for latin1 text, got {encoding!r}')
    return codecs.encode(text, 'latin1')


def load_official(src: str, unsafe: bool = False) -> Dict[str, torch.Tensor]:
    """The ``model`` state dict of a detectron2 checkpoint, as float tensors."""
    if not osp.isfile(src):
        raise FileNotFoundError(f'checkpoint not found: {src!r}')
    if src.endswith('.pkl'):
        with open(src, 'rb') as f:
            try:
                obj = _NumpyUnpickler(f, encoding='latin1').load()
            except Exception as err:
                raise ValueError(f'cannot read {src!r} as detectron2 .pkl weights: {err}') from err
    else:
        try:
            obj = torch.load(src, map_location='cpu', weights_only=not unsafe)
        except pickle.UnpicklingError as err:
            raise ValueError(
                f'{src!r} holds objects the safe loader refuses ({err}). If the file comes from a source you '
                'trust, re-run with --unsafe-load (torch.load(weights_only=False) can execute code embedded in '
                'the file)') from err
    if isinstance(obj, dict) and 'model' in obj:
        state = obj['model']
    elif isinstance(obj, dict) and 'state_dict' in obj:
        state = obj['state_dict']
    else:
        state = obj
    if not isinstance(state, dict) or not state:
        raise ValueError(f'{src!r}: no model state dict found (top-level keys: '
                         f'{list(obj)[:10] if isinstance(obj, dict) else type(obj).__name__})')
    out = OrderedDict()
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.ascontiguousarray(value))
        if not isinstance(value, torch.Tensor):
            raise ValueError(f'{src!r}: model entry {key!r} is a {type(value).__name__}, expected a tensor')
        out[key] = value
    return out


def build_model_state(config: str, cfg_options: Optional[dict] = None) -> Dict[str, torch.Tensor]:
    """``state_dict()`` of the avsseg model of a config."""
    return build_model(config, cfg_options).state_dict()


def build_model(config: str, cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """The avsseg model of a config, built on CPU with its pretrained paths switched off."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import avsseg.models  # noqa: F401  (registers the avsseg modules)
    from avsseg.registry import MODELS

    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'avsseg'))
    return MODELS.build(_strip_pretrained(cfg.model))


def _strip_pretrained(node):
    # building must not read local weight files: they are replaced by the checkpoint anyway
    if isinstance(node, dict):
        node = type(node)({k: _strip_pretrained(v) for k, v in node.items()})
        if isinstance(node.get('init_cfg'), dict) and node['init_cfg'].get('type') == 'Pretrained':
            node['init_cfg'] = None
        if isinstance(node.get('pretrained'), str):
            node['pretrained'] = None
        return node
    if isinstance(node, (list, tuple)):
        return type(node)(_strip_pretrained(v) for v in node)
    return node


def convert(src: str, dst: str, config: Optional[str] = None, allow_missing: bool = False,
            allow_unexpected: bool = False, unsafe: bool = False) -> Dict[str, torch.Tensor]:
    official = load_official(src, unsafe=unsafe)
    converted, dropped = convert_state_dict(official, allow_unexpected=allow_unexpected)
    missing = []
    if config is not None:
        missing = check_against_model(converted, build_model_state(config), allow_missing=allow_missing)
    meta = dict(source=osp.basename(src), converter='tools/model_converters/combo2avsseg.py',
                config=osp.basename(config) if config else '', dropped_keys=list(dropped),
                missing_keys=list(missing), official_cfg_options=dict(OFFICIAL_CFG_OPTIONS))
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict=converted, meta=meta), dst)
    return converted


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert a released COMBO (detectron2) checkpoint into an avsseg checkpoint.')
    parser.add_argument('src', help='official checkpoint (.pth or .pkl)')
    parser.add_argument('dst', help='output avsseg checkpoint')
    parser.add_argument('--config', default=None,
                        help='avsseg config of the matching model (configs/combo/combo_{r50,pvt}_{s4,ms3,avss}.py): '
                        'the result is checked against it (strongly recommended)')
    parser.add_argument('--allow-missing', action='store_true',
                        help='accept model keys the checkpoint does not provide')
    parser.add_argument('--allow-unexpected', action='store_true',
                        help='drop official keys that have no avsseg counterpart instead of failing')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='load a .pth with weights_only=False (runs pickled code: trusted files only)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    state = convert(args.src, args.dst, args.config, args.allow_missing, args.allow_unexpected, args.unsafe_load)
    print(f'wrote {args.dst}: {len(state)} tensors, {sum(v.numel() for v in state.values()):,} values')
    options = ' '.join(f'{k}={v}' for k, v in OFFICIAL_CFG_OPTIONS.items())
    print(f'evaluate it as released: python tools/test.py {args.config or "CONFIG"} {args.dst} --cfg-options {options}')


if __name__ == '__main__':
    main()
