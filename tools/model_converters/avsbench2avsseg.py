"""Convert an official AVSBench (TPAVI) checkpoint to avsseg's key names.

Usage:
    python tools/model_converters/avsbench2avsseg.py SRC DST [--backbone pvt|r50] [--config CFG]
                                                     [--allow-missing]

SRC is a state dict saved by OpenNLPLab/AVSBench (``torch.save(model.module.state_dict())`` of
``Pred_endecoder``; a ``module.`` DataParallel prefix or a ``state_dict``/``model`` wrapper is accepted). DST is
written as ``dict(state_dict=..., meta=...)`` for ``load_from`` / ``tools/test.py``.

Key mapping (official -> avsseg):
    encoder_backbone.*                  -> backbone.*  (PVT-v2 keys converted by mmdet's ``pvt_convert``)
    resnet.{conv1,bn1,layer1,layer2}.*  -> backbone.*  (mmseg ResNet has torchvision's names)
    resnet.layer3_1.* / layer4_1.*      -> backbone.layer3.* / backbone.layer4.*
    resnet.layer3_2.* / layer4_2.*      -> dropped: ``B2_ResNet``'s second branch, never used by the forward
    conv{k}.conv2d_list.{j}.*           -> neck.reduce_layers.{k-1}.{j}.conv.*
    tpavi_b{k}.align_channel.*          -> neck.tpavi_blocks.{k-1}.audio_proj.*
    tpavi_b{k}.{g,theta,phi}.*          -> neck.tpavi_blocks.{k-1}.{g,theta,phi}.*
    tpavi_b{k}.W_z.0.* / W_z.1.*        -> neck.tpavi_blocks.{k-1}.out_conv.* / bn_out.*
    tpavi_b{k}.norm_layer.*             -> neck.tpavi_blocks.{k-1}.norm.*
    path{k}.resConfUnit1.* / 2.*        -> decode_head.fusion_blocks.{k-1}.lateral_unit.* / out_unit.*
    output_conv.{0,2,4}.*               -> decode_head.{out_conv1,out_conv2,conv_seg}.*
    audio_backbone.{features,embeddings}.* (torchvggish names, if present) -> audio_backbone.*

Official checkpoints do not contain VGGish (the official code keeps it outside the model); avsseg loads it
from ``audio_backbone.pretrained``. Keys that match no rule are an error unless ``--allow-missing``; with
``--config`` the result is also checked against the model built from that config (missing keys and shape
mismatches are errors unless ``--allow-missing``; ``audio_backbone.*`` is not required).
"""
import argparse
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

BACKBONES = ('pvt', 'r50')

_RULES = [
    (re.compile(r'^conv(\d)\.conv2d_list\.(\d+)\.(weight|bias)$'),
     lambda m: f'neck.reduce_layers.{int(m[1]) - 1}.{m[2]}.conv.{m[3]}'),
    (re.compile(r'^tpavi_b(\d)\.align_channel\.(weight|bias)$'),
     lambda m: f'neck.tpavi_blocks.{int(m[1]) - 1}.audio_proj.{m[2]}'),
    (re.compile(r'^tpavi_b(\d)\.(g|theta|phi)\.(weight|bias)$'),
     lambda m: f'neck.tpavi_blocks.{int(m[1]) - 1}.{m[2]}.{m[3]}'),
    (re.compile(r'^tpavi_b(\d)\.W_z\.0\.(weight|bias)$'),
     lambda m: f'neck.tpavi_blocks.{int(m[1]) - 1}.out_conv.{m[2]}'),
    (re.compile(r'^tpavi_b(\d)\.W_z\.1\.(weight|bias|running_mean|running_var|num_batches_tracked)$'),
     lambda m: f'neck.tpavi_blocks.{int(m[1]) - 1}.bn_out.{m[2]}'),
    (re.compile(r'^tpavi_b(\d)\.norm_layer\.(weight|bias)$'),
     lambda m: f'neck.tpavi_blocks.{int(m[1]) - 1}.norm.{m[2]}'),
    (re.compile(r'^path(\d)\.resConfUnit([12])\.(conv[12])\.(weight|bias)$'),
     lambda m: f'decode_head.fusion_blocks.{int(m[1]) - 1}.'
     f'{"lateral_unit" if m[2] == "1" else "out_unit"}.{m[3]}.{m[4]}'),
    (re.compile(r'^output_conv\.([024])\.(weight|bias)$'),
     lambda m: 'decode_head.' + {'0': 'out_conv1', '2': 'out_conv2', '4': 'conv_seg'}[m[1]] + f'.{m[2]}'),
    (re.compile(r'^audio_backbone\.((?:features|embeddings)\.\d+\.(?:weight|bias))$'),
     lambda m: f'audio_backbone.{m[1]}'),
]
_R50_DEAD = re.compile(r'^resnet\.layer[34]_2\.')
_R50 = re.compile(r'^resnet\.(conv1\.|bn1\.|layer[12]\.|layer[34]_1\.)(.*)$')


def unwrap(checkpoint) -> Dict[str, torch.Tensor]:
    """Return the plain state dict of an official checkpoint, without the ``module.`` prefix."""
    if not isinstance(checkpoint, dict):
        raise TypeError(f'expected a state dict (dict), got {type(checkpoint).__name__}')
    for key in ('state_dict', 'model'):
        if key in checkpoint and isinstance(checkpoint[key], dict):
            checkpoint = checkpoint[key]
            break
    state = OrderedDict()
    for k, v in checkpoint.items():
        if not isinstance(v, torch.Tensor):
            raise TypeError(f'checkpoint entry {k!r} is a {type(v).__name__}, not a tensor')
        state[k[len('module.'):] if k.startswith('module.') else k] = v
    return state


def convert(state: Dict[str, torch.Tensor], backbone: str) -> Tuple[Dict[str, torch.Tensor], List[str], List[str]]:
    """Map official keys to avsseg keys.

    Returns:
        ``(converted, dropped, unmatched)``: the new state dict, keys dropped on purpose (the dead ResNet
        branch), and keys no rule matched.
    """
    if backbone not in BACKBONES:
        raise ValueError(f'--backbone must be one of {BACKBONES}, got {backbone!r}')
    converted: Dict[str, torch.Tensor] = OrderedDict()
    dropped: List[str] = []
    unmatched: List[str] = []
    pvt_state: Dict[str, torch.Tensor] = OrderedDict()

    def put(key, value, src):
        if key in converted:
            raise KeyError(f'two official keys map to {key!r} (second: {src!r})')
        converted[key] = value

    for key, value in state.items():
        if backbone == 'pvt' and key.startswith('encoder_backbone.'):
            pvt_state[key[len('encoder_backbone.'):]] = value
            continue
        if backbone == 'r50' and key.startswith('resnet.'):
            if _R50_DEAD.match(key):
                dropped.append(key)
                continue
            m = _R50.match(key)
            if m:
                prefix = m[1].replace('_1.', '.')
                put(f'backbone.{prefix}{m[2]}', value, key)
            else:
                unmatched.append(key)
            continue
        for pattern, target in _RULES:
            m = pattern.match(key)
            if m:
                put(target(m), value, key)
                break
        else:
            unmatched.append(key)

    if pvt_state:
        from mmdet.models.backbones.pvt import pvt_convert
        layer_key = re.compile(r'^layers\.\d+\.')
        for key, value in pvt_convert(pvt_state).items():
            if layer_key.match(key):
                put(f'backbone.{key}', value, f'encoder_backbone.{key}')
            else:
                unmatched.append(f'encoder_backbone.{key}')
    return converted, dropped, unmatched


def check_against_model(converted: Dict[str, torch.Tensor], config: str) -> Tuple[List[str], List[str], List[str]]:
    """Compare with the model of ``config``: (missing, unexpected, shape mismatches)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import avsseg.models  # noqa: F401
    from avsseg.registry import MODELS

    cfg = Config.fromfile(config)
    init_default_scope('avsseg')
    model_cfg = cfg.model.copy()
    model_cfg.pop('audio_backbone', None)  # VGGish comes from its own weights and is not in official files
    model = MODELS.build(model_cfg)
    expected = model.state_dict()
    missing = sorted(k for k in expected if k not in converted)
    unexpected = sorted(k for k in converted if k not in expected and not k.startswith('audio_backbone.'))
    mismatched = sorted(f'{k}: checkpoint {tuple(converted[k].shape)} vs model {tuple(v.shape)}'
                        for k, v in expected.items() if k in converted and converted[k].shape != v.shape)
    return missing, unexpected, mismatched


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Convert an official AVSBench TPAVI checkpoint to avsseg')
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='output checkpoint (.pth)')
    parser.add_argument('--backbone', choices=BACKBONES, default='pvt', help='visual backbone of the checkpoint')
    parser.add_argument('--config', help='avsseg config to check the converted keys and shapes against')
    parser.add_argument('--allow-missing', action='store_true',
                        help='write the result even if keys are unmatched, missing or mis-shaped')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    state = unwrap(torch.load(args.src, map_location='cpu', weights_only=True))
    converted, dropped, unmatched = convert(state, args.backbone)
    problems = []
    if dropped:
        print(f'dropped {len(dropped)} keys of the unused ResNet branch (layer3_2/layer4_2)')
    if unmatched:
        problems.append(f'{len(unmatched)} official keys match no rule (wrong --backbone?):\n  ' +
                        '\n  '.join(unmatched))
    if args.config:
        missing, unexpected, mismatched = check_against_model(converted, args.config)
        for name, keys in (('missing in the checkpoint', missing), ('not in the model', unexpected),
                           ('with another shape', mismatched)):
            if keys:
                problems.append(f'{len(keys)} keys {name}:\n  ' + '\n  '.join(keys))
    if problems:
        report = '\n'.join(problems)
        if not args.allow_missing:
            print(f'ERROR converting {args.src}:\n{report}\n(use --allow-missing to write anyway)', file=sys.stderr)
            return 1
        print(f'WARNING converting {args.src}:\n{report}', file=sys.stderr)
    meta = dict(converted_from=args.src, converter='avsbench2avsseg', backbone=args.backbone)
    torch.save(dict(state_dict=converted, meta=meta), args.dst)
    print(f'wrote {len(converted)} tensors to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
