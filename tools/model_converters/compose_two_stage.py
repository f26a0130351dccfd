"""Merge a stage-1 checkpoint and an audio tagger's weights into the one checkpoint a two-stage model tests with.

    python tools/model_converters/compose_two_stage.py --stage1 work_dirs/bavs_stage1/best_mIoU.pth \
        --tagger checkpoints/beats_as2m_cpt2.safetensors --config configs/bavs/bavs_avis_beats_swin-b_avss.py \
        -o checkpoints/bavs_avss.pth
    python tools/test.py configs/bavs/bavs_avis_beats_swin-b_avss.py checkpoints/bavs_avss.pth

BAVS's stage 2 (``BAVSSegmentor``) is training-free: the frozen stage-1 PSOS model plus a frozen tagger. MMEngine's
Runner does not call ``init_weights`` at test time and ``tools/test.py`` takes one checkpoint, so that checkpoint
must hold every weight (bavs.md §6.3).

Inputs:

- ``--stage1``: an mmengine checkpoint of the stage-1 model (``backbone.*``, ``decode_head.*``); it must hold no
  ``audio_backbone.*`` (stage 1 sees no audio);
- ``--tagger``: the tagger's weights, any of: an mmengine checkpoint of a model with an ``audio_backbone``
  (``AudioTaggingModel``, the stand-in tagger's training; only its ``audio_backbone.*`` are taken); a standalone
  weight file of the tagger module (``beats2avsseg.py``'s ``.safetensors``, or a ``.pth`` holding ``model`` /
  ``state_dict`` / the bare state dict), whose keys get the ``audio_backbone.`` prefix; ``--tagger-prefix P``
  takes the keys under ``P`` instead (e.g. ``backbone.``).

Output: ``{'state_dict': ..., 'meta': {'compose_two_stage': {...}}}`` with both sources' paths and sha256 (and,
with ``--config``, the config's path and the sha256 of its audio-visual tree file). With ``--config`` (recommended)
the stage-2 model is built and the merged weights are loaded strictly: a missing or unexpected key or a shape
mismatch is an error listing them, before anything is written.
"""
import argparse
import hashlib
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, Optional

import torch

import avsseg  # noqa: F401  (allowlists the globals of mmengine checkpoints for torch.load(weights_only=True))

PREFIX = 'audio_backbone.'


def sha256sum(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def load_state_dict(path: str, what: str) -> Dict[str, torch.Tensor]:
    """The tensors of a checkpoint or weight file (``state_dict`` / ``model`` entry, or the bare dict)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'compose_two_stage: {what} file {path} does not exist')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return OrderedDict(load_file(path))
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    if isinstance(ckpt, dict):
        for key in ('state_dict', 'model'):
            if isinstance(ckpt.get(key), dict):
                ckpt = ckpt[key]
                break
    if not isinstance(ckpt, dict) or not ckpt or not all(torch.is_tensor(v) for v in ckpt.values()):
        raise ValueError(f'compose_two_stage: {what} file {path} holds no state dict (expected an mmengine checkpoint '
                         "with 'state_dict', a file with 'model', or a dict of tensors)")
    return OrderedDict(ckpt)


def tagger_weights(state: Dict[str, torch.Tensor], path: str, prefix: Optional[str]) -> Dict[str, torch.Tensor]:
    """The tagger's tensors under ``audio_backbone.``."""
    if prefix is not None:
        picked = OrderedDict((PREFIX + k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))
        if not picked:
            raise KeyError(f'compose_two_stage: no key of the tagger file {path} starts with --tagger-prefix '
                           f'{prefix!r} (first keys: {list(state)[:5]})')
        return picked
    if any(k.startswith(PREFIX) for k in state):
        return OrderedDict((k, v) for k, v in state.items() if k.startswith(PREFIX))
    return OrderedDict((PREFIX + k, v) for k, v in state.items())


def compose(stage1: str, tagger: str, tagger_prefix: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """The merged state dict: every stage-1 tensor plus the tagger's under ``audio_backbone.``."""
    first = load_state_dict(stage1, 'stage-1')
    audio = [k for k in first if k.startswith(PREFIX)]
    if audio:
        raise ValueError(f'compose_two_stage: the stage-1 checkpoint {stage1} already holds audio_backbone weights '
                         f'({audio[:3]}...); stage 1 of the two-stage methods sees no audio')
    merged = OrderedDict(first)
    merged.update(tagger_weights(load_state_dict(tagger, 'tagger'), tagger, tagger_prefix))
    return merged


def check_with_config(state: Dict[str, torch.Tensor], config: str) -> dict:
    """Build the stage-2 model of ``config``, load ``state`` strictly; returns the meta to record."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from avsseg.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'avsseg'))
    model = MODELS.build(cfg.model)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f'{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}' for k in own
              if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        raise ValueError(f'compose_two_stage: the merged weights do not fit {config}: {len(missing)} missing '
                         f'{missing[:8]}, {len(unexpected)} unexpected {unexpected[:8]}, shape mismatches '
                         f'{shapes[:8]}')
    model.load_state_dict(state, strict=True)
    meta = dict(config=config)
    integrator = cfg.model.get('integrator')
    tree = integrator.get('tree') if isinstance(integrator, dict) else None
    if isinstance(tree, str) and osp.isfile(tree):
        meta.update(tree_file=tree, tree_sha256=sha256sum(tree))
    return meta


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Merge a stage-1 checkpoint and a tagger into one checkpoint '
                                     '(BAVS stage 2)')
    parser.add_argument('--stage1', required=True, help='mmengine checkpoint of the stage-1 (PSOS) model')
    parser.add_argument('--tagger', required=True,
                        help='tagger weights: an mmengine checkpoint with audio_backbone.*, or the tagger module\'s '
                        'own weight file (.safetensors / .pth)')
    parser.add_argument('--tagger-prefix', default=None,
                        help='take the tagger keys under this prefix (stripped) instead of audio_backbone.* / all')
    parser.add_argument('--config', default=None, help='stage-2 config: build it and load the result strictly')
    parser.add_argument('-o', '--out', required=True, help='output checkpoint (.pth)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    state = compose(args.stage1, args.tagger, args.tagger_prefix)
    meta = dict(stage1=args.stage1, stage1_sha256=sha256sum(args.stage1), tagger=args.tagger,
                tagger_sha256=sha256sum(args.tagger))
    if args.config is not None:
        meta.update(check_with_config(state, args.config))
    out_dir = osp.dirname(osp.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(dict(state_dict=state, meta=dict(compose_two_stage=meta)), args.out)
    num_audio = sum(k.startswith(PREFIX) for k in state)
    print(f'{args.out}: {len(state) - num_audio} stage-1 tensors + {num_audio} tagger tensors'
          + (f', loaded strictly by {args.config}' if args.config else ' (not checked: give --config)'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
