"""Convert a COCO Mask2Former checkpoint (mmdet 3.x or detectron2) into the initialisation of an avsseg PSOS model.

    python tools/model_converters/mask2former2avsseg.py \
        mask2former_swin-b-p4-w12-384-in21k_8xb2-lsj-50e_coco-panoptic_20220329_230021-05ec7315.pth \
        pretrained/mask2former_swin-b_coco_psos.pth
    python tools/model_converters/mask2former2avsseg.py model_final.pkl pretrained/mask2former_swin-b_coco_psos.pth

Seed 001 (CMMS) starts its stage 1 from a COCO Mask2Former Swin-B: backbone, pixel decoder and transformer decoder
[P]; the class head is new, since the K + 1 classes of the AVS dataset replace COCO's (seed001.md §1.1 [R]). The
output is the ``load_from`` file of ``configs/cmms/cmms_psos_swin-b-coco_{s4,ms3}_stage1.py`` (one file serves both:
only the class head depends on K, and it is not in the file).

Inputs (the format is recognised from the keys; anything else is an error naming the file):

- **mmdet 3.x** Mask2Former (``.pth``, mmengine checkpoint ``{'state_dict', 'meta', ...}``): ``backbone.*`` (mmdet
  names, kept), ``panoptic_head.*`` -> ``decode_head.*`` (avsseg's ``PSOSHead`` is mmseg's ``Mask2FormerHead``,
  which builds mmdet's layers under the same names), ``panoptic_fusion_head.*`` dropped. mmdet's COCO panoptic
  Swin-B (``mask2former_swin-b-p4-w12-384[-in21k]_8xb2-lsj-50e_coco-panoptic``) has **100** queries, as PSOS; its
  Swin-L has 200. mmdet 2.x key names (``attentions.N`` / ``ffns.N`` in the transformer layers) are refused with a
  message: mmdet's v3.0 model zoo files carry the 3.x names.
- **detectron2** Mask2Former (facebookresearch/Mask2Former ``model_final_*.pkl``, numpy arrays under ``'model'``,
  or a ``.pth`` with ``'model'``): ``backbone.*`` in the official Swin names (``D2SwinTransformer``: ``layers.N``,
  ``attn.qkv``, ``mlp.fc1``, ``patch_embed.proj``, ``layers.N.downsample``) converted by mmdet's own
  ``swin_converter`` (``stages.N``, ``attn.w_msa.*``, ``ffn.layers.{0.0,1}``, ``patch_embed.projection`` and the
  reordered patch-merging ``reduction`` / ``norm``, since mmdet merges patches with ``nn.Unfold``); a detectron2
  ResNet or PVT-v2 backbone goes through ``combo2avsseg.convert_visual_backbone``. ``sem_seg_head.pixel_decoder.*``
  and ``sem_seg_head.predictor.*`` use ``combo2avsseg``'s rename tables (the same detectron2 Mask2Former modules);
  ``criterion.empty_weight`` (a loss buffer) is dropped.

``.pkl`` files are read with ``combo2avsseg``'s unpickler that rebuilds numpy arrays only; ``.pth`` files with
``torch.load(weights_only=True)`` (importing avsseg allowlists the globals of mmengine checkpoints).
``--unsafe-load`` exists for a trusted ``.pth`` whose extra entries the safe loader refuses.

Always dropped: the class head ``cls_embed`` (COCO's 133 + 1 classes; PSOS has K + 1) and the panoptic fusion head.

Query count (``--queries``; PSOS has 100 [P], the source may have another number):

- ``error`` (default): stop, naming both counts;
- ``first``: keep the first N learned queries (``query_feat`` and ``query_embed`` rows ``0..N-1``). Mask2Former's
  queries are unordered, so this is an arbitrary but fixed subset, each still a trained query;
- ``drop``: leave ``query_feat`` / ``query_embed`` at their random initialisation.

Checks: the target model is built from ``--config`` (default ``configs/_base_/models/psos_swin-b.py``) without any
weight file. Every converted key must exist there with the same shape, integer buffers (Swin's
``relative_position_index``) must hold the same values (another layout would index the bias table wrongly), and
the target keys left uninitialised must be exactly the class head ``decode_head.cls_embed.*`` (plus the query
embeddings with ``--queries drop``); anything else is an error listing the keys. The tool prints the source keys
dropped and the target keys left uninitialised, by group.

Output: ``torch.save`` of ``{'state_dict': ..., 'meta': {...}}`` with plain types only (loads with
``weights_only=True``); ``meta``: ``source``, ``source_sha256``, ``source_format``, ``config``, ``dropped`` (group ->
source keys), ``uninitialised`` (target keys), ``queries`` (source / target counts, mode), ``converter``. mmengine's
``load_from`` loads it non-strictly: the missing class head is logged as a warning ("missing keys in source
state_dict: decode_head.cls_embed.weight, decode_head.cls_embed.bias") and keeps the head's initialisation.
"""
import argparse
import hashlib
import importlib.util
import os
import os.path as osp
import re
import sys
import zipfile
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    # run as a script, Python puts tools/model_converters/ on sys.path, not the repository with avsseg
    sys.path.insert(0, REPO_ROOT)

import avsseg  # noqa: E402,F401  (allowlists the globals of mmengine checkpoints for torch.load(weights_only=True))


def _load_sibling(name: str):
    # tools/ is not a package; the detectron2 Mask2Former tables and loaders live in the COMBO converter
    path = osp.join(osp.dirname(osp.abspath(__file__)), f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'_avsseg_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


combo = _load_sibling('combo2avsseg')
ConversionError = combo.ConversionError

DEFAULT_CONFIG = osp.join(REPO_ROOT, 'configs', '_base_', 'models', 'psos_swin-b.py')
QUERY_MODES = ('error', 'first', 'drop')
QUERY_KEYS = ('decode_head.query_feat.weight', 'decode_head.query_embed.weight')
CLASS_HEAD = re.compile(r'^decode_head\.cls_embed\.')
# mmdet 2.x's BaseTransformerLayer names; the 3.x layers call them self_attn / cross_attn / ffn
MMDET2_NAMES = re.compile(r'\.(attentions|ffns)\.\d+\.')


def detect_format(state: Dict[str, torch.Tensor], src: str = 'the checkpoint') -> str:
    """``'mmdet'`` (``panoptic_head.*``) or ``'detectron2'`` (``sem_seg_head.*``).

    Raises:
        ConversionError: neither (or both) found, naming ``src`` and its first keys.
    """
    mmdet = any(k.startswith('panoptic_head.') for k in state)
    d2 = any(k.startswith('sem_seg_head.') for k in state)
    if mmdet == d2:
        raise ConversionError(
            f'{src}: not a Mask2Former checkpoint of mmdet (panoptic_head.*) or detectron2 (sem_seg_head.*); '
            f'first keys: {list(state)[:6]}')
    return 'mmdet' if mmdet else 'detectron2'


def convert_d2_backbone(state: Dict[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Detectron2 backbone (keys without ``backbone.``) -> mmdet / mmseg names (without ``backbone.``)."""
    if any(k.startswith('layers.') for k in state) and 'patch_embed.proj.weight' in state:
        from mmdet.models.backbones.swin import swin_converter
        converted = swin_converter(state)  # writes 'backbone.'-prefixed keys
        return OrderedDict((k[len('backbone.'):], v) for k, v in converted.items()), []
    return combo.convert_visual_backbone(state)


def convert_state_dict(state: Dict[str, torch.Tensor], fmt: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, list]]:
    """Source state dict -> ``(avsseg-named state dict, {group: dropped source keys})``.

    The class head is still in the result (as ``decode_head.cls_embed.*``); :func:`convert` drops it.

    Raises:
        ConversionError: source keys no rule knows (listed).
    """
    out: Dict[str, torch.Tensor] = OrderedDict()
    dropped: Dict[str, List[str]] = OrderedDict()
    unknown: List[str] = []
    if fmt == 'mmdet':
        old = [k for k in state if k.startswith('panoptic_head.') and MMDET2_NAMES.search(k)]
        if old:
            raise ConversionError(
                f'{len(old)} keys use mmdet 2.x layer names (e.g. {old[0]!r}); this converter reads mmdet 3.x '
                'Mask2Former checkpoints (self_attn / cross_attn / ffn), as in mmdet\'s v3.0 model zoo')
        for key, value in state.items():
            if key.startswith('backbone.'):
                out[key] = value
            elif key.startswith('panoptic_head.'):
                out['decode_head.' + key[len('panoptic_head.'):]] = value
            elif key.startswith('panoptic_fusion_head.'):
                dropped.setdefault('panoptic_fusion_head', []).append(key)
            else:
                unknown.append(key)
    else:
        groups: Dict[str, Dict[str, torch.Tensor]] = OrderedDict(
            (p, OrderedDict()) for p in ('backbone.', 'sem_seg_head.pixel_decoder.', 'sem_seg_head.predictor.'))
        for key, value in state.items():
            if key in combo.DROPPED_KEYS:
                dropped.setdefault('criterion', []).append(key)
                continue
            prefix = next((p for p in groups if key.startswith(p)), None)
            if prefix is None:
                unknown.append(key)
            else:
                groups[prefix][key[len(prefix):]] = value
        parts = (('backbone.', 'backbone.', convert_d2_backbone),
                 ('sem_seg_head.pixel_decoder.', 'decode_head.pixel_decoder.', combo.convert_pixel_decoder),
                 ('sem_seg_head.predictor.', 'decode_head.',
                  lambda s: combo._apply_rules('predictor', s, combo.PREDICTOR_RULES)))
        for src_prefix, dst_prefix, fn in parts:
            if not groups[src_prefix]:
                continue
            converted, bad = fn(groups[src_prefix])
            unknown.extend(src_prefix + k for k in bad)
            for k, v in converted.items():
                out[dst_prefix + k] = v
    if unknown:
        raise ConversionError(f'{len(unknown)} {fmt} keys have no PSOS counterpart: {combo._listing(unknown)}')
    return out, dropped


def select_queries(state: Dict[str, torch.Tensor], target_queries: int, mode: str) -> Tuple[int, List[str]]:
    """Fit the learned queries of ``state`` (in place) to ``target_queries``; returns ``(source count, removed keys)``.

    Raises:
        ConversionError: counts differ and ``mode == 'error'``, or the query embeddings are missing.
    """
    if mode not in QUERY_MODES:
        raise ValueError(f'--queries {mode!r}: use one of {QUERY_MODES}')
    missing = [k for k in QUERY_KEYS if k not in state]
    if missing:
        raise ConversionError(f'the source has no learned queries ({missing})')
    source = state[QUERY_KEYS[0]].shape[0]
    if source == target_queries:
        return source, []
    if mode == 'error':
        raise ConversionError(
            f'the source has {source} queries, the PSOS model {target_queries}: pass --queries first (keep the '
            f'first {target_queries}) or --queries drop (random query embeddings)')
    if mode == 'first':
        if source < target_queries:
            raise ConversionError(f'--queries first: the source has only {source} queries, fewer than the '
                                  f'{target_queries} of the PSOS model; use --queries drop')
        for key in QUERY_KEYS:
            state[key] = state[key][:target_queries].clone()
        return source, []
    for key in QUERY_KEYS:
        del state[key]
    return source, list(QUERY_KEYS)


def check_against_model(converted: Dict[str, torch.Tensor], model_state: Dict[str, torch.Tensor],
                        allowed_missing: List[str]) -> List[str]:
    """Names, shapes and integer buffers against the target; returns the target keys left uninitialised.

    Raises:
        ConversionError: keys absent from the model, shape mismatches, integer buffers with other values, or
            uninitialised target keys other than ``allowed_missing`` / the class head.
    """
    unexpected = [k for k in converted if k not in model_state]
    shapes = [f'{k}: source {list(v.shape)} vs model {list(model_state[k].shape)}'
              for k, v in converted.items() if k in model_state and tuple(v.shape) != tuple(model_state[k].shape)]
    values = [k for k, v in converted.items()
              if k in model_state and not model_state[k].is_floating_point()
              and tuple(v.shape) == tuple(model_state[k].shape) and not torch.equal(v.to(model_state[k].dtype),
                                                                                    model_state[k])]
    missing = [k for k in model_state if k not in converted]
    bad_missing = [k for k in missing if not CLASS_HEAD.match(k) and k not in allowed_missing]
    problems = []
    if unexpected:
        problems.append(f'{len(unexpected)} converted keys are not in the model: {combo._listing(unexpected)}')
    if shapes:
        problems.append(f'{len(shapes)} shape mismatches: {combo._listing(shapes)}')
    if values:
        problems.append(f'{len(values)} integer buffers differ from the model\'s (another index layout): '
                        f'{combo._listing(values)}')
    if bad_missing:
        problems.append(f'{len(bad_missing)} model keys are not in the source (only the class head may be): '
                        f'{combo._listing(bad_missing)}')
    if problems:
        raise ConversionError('the converted checkpoint does not fit the model:\n  ' + '\n  '.join(problems))
    return missing


def sha256sum(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def convert(src: str, dst: str, config: Optional[str] = None, queries: str = 'error', overwrite: bool = False,
            unsafe: bool = False, cfg_options: Optional[dict] = None) -> dict:
    """Read ``src``, convert, check against the PSOS model of ``config`` and write ``dst``.

    Args:
        src: mmdet 3.x ``.pth`` or detectron2 ``.pkl`` / ``.pth`` Mask2Former checkpoint.
        dst: output ``.pth``.
        config: avsseg config of the target PSOS model (default ``configs/_base_/models/psos_swin-b.py``).
        queries: ``'error'``, ``'first'`` or ``'drop'`` (see the module docstring).
        overwrite: replace an existing ``dst``.
        unsafe: ``torch.load(weights_only=False)`` for a trusted ``.pth``.
        cfg_options: merged into the config before building (e.g. a smaller model in tests).

    Returns:
        The saved dict ``{'state_dict': {name: tensor}, 'meta': {...}}``.

    Raises:
        FileExistsError: ``dst`` exists and ``overwrite`` is False.
        ValueError: ``src`` cannot be read as a checkpoint (from ``combo2avsseg.load_official``).
        ConversionError: unknown source keys, a query-count mismatch under ``'error'``, or a result that does not
            fit the model.
    """
    config = config or DEFAULT_CONFIG
    if osp.exists(dst) and not overwrite:
        raise FileExistsError(f'{dst!r} exists; pass --overwrite to replace it')
    if osp.abspath(src) == osp.abspath(dst):
        raise ValueError('the output must be a new file, not the input')
    _check_container(src)
    state = combo.load_official(src, unsafe=unsafe)
    if any(k.startswith('module.') for k in state):
        state = OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v) for k, v in state.items())
    fmt = detect_format(state, repr(src))
    converted, dropped = convert_state_dict(state, fmt)
    class_head = [k for k in converted if CLASS_HEAD.match(k)]
    for key in class_head:
        del converted[key]
    if class_head:
        dropped['class head (cls_embed)'] = [_source_name(k, fmt) for k in class_head]

    model_state = combo.build_model(config, cfg_options).state_dict()
    if QUERY_KEYS[0] not in model_state:
        raise ConversionError(f'{config}: the model has no {QUERY_KEYS[0]} (not a Mask2Former-based PSOS model)')
    target_queries = model_state[QUERY_KEYS[0]].shape[0]
    source_queries, random_queries = select_queries(converted, target_queries, queries)
    if random_queries:
        dropped['query embeddings (--queries drop)'] = [_source_name(k, fmt) for k in random_queries]
    uninitialised = check_against_model(converted, model_state, allowed_missing=random_queries)

    meta = dict(
        source=osp.basename(src), source_sha256=sha256sum(src), source_format=fmt,
        config=osp.relpath(config, REPO_ROOT) if osp.isabs(config) else config,
        dropped={group: list(keys) for group, keys in dropped.items()}, uninitialised=list(uninitialised),
        queries=dict(source=int(source_queries), target=int(target_queries), mode=queries),
        converter='tools/model_converters/mask2former2avsseg.py')
    out = dict(state_dict=OrderedDict((k, v.contiguous()) for k, v in converted.items()), meta=meta)
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    tmp = dst + '.tmp'
    torch.save(out, tmp)
    os.replace(tmp, dst)
    return out


def _check_container(src: str) -> None:
    # a file that is neither torch.save's zip nor a pickle would otherwise read as "refused by the safe loader"
    if not osp.isfile(src):
        raise FileNotFoundError(f'checkpoint not found: {src!r}')
    with open(src, 'rb') as f:
        head = f.read(2)
    if not (zipfile.is_zipfile(src) or head[:1] == b'\x80'):
        raise ValueError(f'{src!r} is not a checkpoint: neither a torch.save zip archive nor a pickle '
                         '(.pkl / legacy .pth)')


def _source_name(key: str, fmt: str) -> str:
    # the dropped keys are reported as the source calls them
    if fmt == 'mmdet':
        return 'panoptic_head.' + key[len('decode_head.'):]
    names = {'decode_head.cls_embed.weight': 'sem_seg_head.predictor.class_embed.weight',
             'decode_head.cls_embed.bias': 'sem_seg_head.predictor.class_embed.bias'}
    return names.get(key, 'sem_seg_head.predictor.' + key[len('decode_head.'):])


def summary(saved: dict) -> str:
    """Human-readable report of a converted file's meta."""
    meta = saved['meta']
    q = meta['queries']
    lines = [f'source: {meta["source"]} ({meta["source_format"]}), target config: {meta["config"]}',
             f'converted: {len(saved["state_dict"])} tensors, '
             f'{sum(v.numel() for v in saved["state_dict"].values()):,} values',
             f'queries: source {q["source"]}, PSOS {q["target"]}'
             + ('' if q['source'] == q['target'] else f' (--queries {q["mode"]})')]
    for group, keys in meta['dropped'].items():
        shown = ', '.join(keys[:4]) + (' ...' if len(keys) > 4 else '')
        lines.append(f'dropped {group}: {len(keys)} keys ({shown})')
    lines.append(f'left uninitialised in the model: {", ".join(meta["uninitialised"])}')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='mmdet 3.x (.pth) or detectron2 (.pkl / .pth) Mask2Former checkpoint')
    parser.add_argument('dst', help='output .pth (the load_from of cmms_psos_swin-b-coco_*_stage1.py)')
    parser.add_argument('--config', default=None,
                        help='avsseg config of the target PSOS model (default configs/_base_/models/psos_swin-b.py)')
    parser.add_argument('--queries', choices=QUERY_MODES, default='error',
                        help='when the source has another query count than the model: error (default), first '
                        '(keep the first N learned queries) or drop (random query embeddings)')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing output')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='load a .pth with weights_only=False (runs pickled code: trusted files only)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        saved = convert(args.src, args.dst, args.config, args.queries, args.overwrite, args.unsafe_load)
    except (ConversionError, FileExistsError, FileNotFoundError, ValueError) as err:
        print(f'[mask2former2avsseg] error: {err}', file=sys.stderr)
        return 1
    print('[mask2former2avsseg] ' + summary(saved).replace('\n', '\n[mask2former2avsseg] '))
    print(f'[mask2former2avsseg] wrote {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
