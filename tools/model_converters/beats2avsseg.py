"""Check a released BEATs checkpoint against avsseg's ``BEATs`` and re-save it as a file ``BEATs(pretrained=)`` reads.

    python tools/model_converters/beats2avsseg.py \
        BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt2.pt checkpoints/beats_as2m_cpt2.safetensors

Input: a microsoft/unilm BEATs ``.pt`` (``{'cfg': dict, 'model': state dict, 'label_dict': {index: mid}}``,
``label_dict`` only in the AudioSet fine-tuned models), read with ``torch.load(weights_only=True)``.

Output: a standalone BEATs weight file (not an mmengine checkpoint): pass it as ``BEATs(pretrained=...)``; the
avsseg model that holds the backbone then saves it under ``audio_backbone.*`` in its own checkpoints. By the
output's extension:

- ``.safetensors`` (recommended; no pickle at all): the state dict's tensors under unilm's names (the table
  shared by all layers is stored once per layer, as unilm's state dict has it), with JSON metadata
  ``beats_cfg`` (the full cfg, defaults filled in), ``label_dict`` (``{"index": mid}``), ``source`` (input
  file name) and ``source_sha256``;
- ``.pth`` / ``.pt``: ``torch.save`` of ``{'cfg', 'model', 'label_dict', 'meta'}``, the released layout plus
  ``meta`` (source, sha256), plain types only (loads with ``weights_only=True``).

It prints the architecture part of the cfg as ``cfg=dict(...)`` for configs (with ``pretrained``, ``BEATs``
checks it against the file; without, e.g. when ``tools/test.py`` drops a missing weight file, it builds the model).
The converter builds the model from the file's cfg, loads the weights strictly (every key, every shape), checks
the label_dict (indices 0..C-1 to non-empty mids, C = predictor classes), writes the output, reloads it with
``BEATs(pretrained=output)`` and checks that every tensor is equal. ``--check-wav`` also runs both on 1 s of
noise and prints the top tags.
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import sys
from collections import OrderedDict

import torch

from avsseg.models.audio_backbones.beats import TRAINING_ONLY_KEYS, BEATs, load_beats_checkpoint


def sha256sum(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def convert(src: str, dst: str, overwrite: bool = False) -> BEATs:
    """Checks ``src`` and writes ``dst``; returns the model loaded from ``dst``.

    Raises:
        FileExistsError: ``dst`` exists and ``overwrite`` is False.
        ValueError: an unsupported output extension, or anything ``BEATs(pretrained=src)`` refuses (its
            messages name the file).
    """
    ext = osp.splitext(dst)[1]
    if ext not in ('.safetensors', '.pth', '.pt'):
        raise ValueError(f'output {dst!r}: use a .safetensors (recommended) or .pth file name')
    if osp.abspath(src) == osp.abspath(dst):
        raise ValueError('the output must be a new file, not the input')
    if osp.exists(dst) and not overwrite:
        raise FileExistsError(f'{dst!r} exists; pass --overwrite to replace it')
    model = BEATs(pretrained=src, freeze=True)  # validates cfg, keys, shapes, label_dict
    raw = load_beats_checkpoint(src)
    # clone: safetensors refuses tensors sharing memory (the relative-position table is one tensor in unilm)
    state = OrderedDict((k, v.detach().clone().contiguous()) for k, v in raw['model'].items())
    label_dict = None if model.label_mids is None else {i: m for i, m in enumerate(model.label_mids)}
    meta = dict(source=osp.basename(src), source_sha256=sha256sum(src), converted_by='beats2avsseg')
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    tmp = dst + '.tmp'
    if ext == '.safetensors':
        from safetensors.torch import save_file
        metadata = dict(beats_cfg=json.dumps(model.cfg, sort_keys=True), **meta)
        if label_dict is not None:
            metadata['label_dict'] = json.dumps({str(i): m for i, m in label_dict.items()})
        save_file(state, tmp, metadata=metadata)
    else:
        torch.save(dict(cfg=dict(model.cfg), model=state, label_dict=label_dict, meta=meta), tmp)
    os.replace(tmp, dst)

    reloaded = BEATs(pretrained=dst, freeze=True)
    ref = model.state_dict()
    out = reloaded.state_dict()
    diff = [k for k in ref if not torch.equal(ref[k], out[k])]
    if diff or reloaded.cfg != model.cfg or reloaded.label_mids != model.label_mids:
        raise RuntimeError(f'{dst!r} does not reproduce {src!r}: differing tensors {diff[:5]}, '
                           f'cfg equal: {reloaded.cfg == model.cfg}, labels equal: '
                           f'{reloaded.label_mids == model.label_mids}')
    return reloaded


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='released BEATs .pt (microsoft/unilm)')
    parser.add_argument('dst', help='output .safetensors (recommended) or .pth')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing output')
    parser.add_argument('--check-wav', action='store_true',
                        help='run the converted model on 1 s of noise and print its top-5 tags (fine-tuned models)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    model = convert(args.src, args.dst, overwrite=args.overwrite)
    params = sum(p.numel() for p in model.parameters())
    cfg = model.cfg
    print(f'[beats2avsseg] {args.src} -> {args.dst}: {cfg["encoder_layers"]} layers x {cfg["encoder_embed_dim"]}, '
          f'{params / 1e6:.2f}M parameters, predictor: '
          f'{cfg["predictor_class"] if model.predictor is not None else "none (self-supervised)"}, '
          f'label_dict: {"yes" if model.label_mids else "no"}')
    # the architecture fields, for configs: BEATs(pretrained=..., cfg=...) checks them against the file, and
    # they still build the model when tools/test.py drops a missing pretrained file
    arch = {k: v for k, v in cfg.items() if k not in TRAINING_ONLY_KEYS}
    print(f'[beats2avsseg] config: cfg=dict({", ".join(f"{k}={v!r}" for k, v in arch.items())})')
    if args.check_wav and model.predictor is not None:
        model.output = 'probs'
        probs = model(torch.randn(1, 16000, generator=torch.Generator().manual_seed(0)) * 0.1)[0]
        top = probs.topk(5)
        names = model.label_mids or [str(i) for i in range(len(probs))]
        print('[beats2avsseg] noise top-5:', ', '.join(f'{names[i]} {p:.3f}' for p, i in zip(*top)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
