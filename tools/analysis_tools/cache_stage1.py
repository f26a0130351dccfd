"""Cache the potential instance sets of a frozen stage 1 (PSOS) for every frame of a split (seed 001 §6.3), and
with ``--tags`` the tag confidences of a BAVS tagger per clip (BAVS sheet §6.3, for ``sweep_avis.py``).

    python tools/analysis_tools/cache_stage1.py CONFIG STAGE1_CKPT --split train --out work_dirs/cache/train
    python tools/analysis_tools/cache_stage1.py BAVS_STAGE2_CONFIG COMPOSED_CKPT --split val --out DIR --tags \
        [--instance-filter none] [--audio-perturb noise --snr 10] [--tags-only]

CONFIG is a stage-1 (``PSOSSegmentor``) or stage-2 (``AVSCSegmentor``, ``BAVSSegmentor``) config; its
``backbone`` / ``decode_head`` (the PSOS head, whose ``instance_filter`` / ``iou_thr`` make the sets;
``--instance-filter`` overrides the filter) and the test pipeline of its test dataset (the split replaced) are used,
so the masks are at the test size (224 for AVSBench). Writes one ``{clip_id}_{frame_idx}.npz`` per frame
(``labels`` int16, ``scores`` float32, ``cls_probs`` float32, ``masks`` packed bits at ``ori_shape``, ``shape``,
``input_shape``) and ``cache_meta.json`` (the checkpoint's sha256 and the filter settings), which
``LoadClipInstanceSet`` and ``sweep_avis.py`` check before reading. Raw mask logits are not kept (about 15 GB for
S4). Scores are float32 (they were float16): ``sweep_avis.py`` orders masks by score and must reproduce
``tools/test.py`` exactly, and a float16 tie would reorder them; the sets are small next to the masks.

``--tags`` (a BAVS stage-2 config and its composed checkpoint, ``tools/model_converters/compose_two_stage.py``):
the ``BAVSSegmentor`` of CONFIG is built and loaded strictly from the checkpoint, and its own tagging path
(``data_preprocessor`` then ``extract_audio_feat``: 1 s windows per frame, padded frames zeroed) gives each clip's
``[T, L]`` tag confidences, written to ``tags/{key}/{clip_id}.npz`` (``probs``, ``is_padded``) with
``tags/{key}/tags_meta.json`` (the checkpoint's sha256, the perturbation, the tagger's ``label_mids``). ``key``
names the audio perturbation (:func:`perturbation_key`: ``none``, ``silence``, ``swap``, ``noise_snr10``,
``offscreen_snr0[_<file>-<sha8>]``), set with tools/test.py's own ``--audio-perturb`` / ``--snr`` /
``--offscreen-audio`` handling (``AudioPerturbedDataset``, seed 0), so the tags are those ``tools/test.py`` sees.
The instance sets do not depend on the audio; ``--tags-only`` adds the tags of another perturbation to an existing
cache of the same checkpoint and split without rerunning stage 1. Tags are float32 by default, not the sheet's
float16: a confidence within float16 rounding (6e-5 at 0.1) of ``tag_thr`` would flip, and the sweep must give
``tools/test.py``'s numbers; ``--tags-dtype float16`` writes the sheet's format (half the size: 527 x 10 x 2 bytes a
clip).
"""
import argparse
import copy
import importlib.util
import json
import os
import os.path as osp
import sys
from typing import List, Optional

import numpy as np
import torch
from mmengine.config import DictAction

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)

#: Sub-folder of a cache holding the tag confidences, one folder per perturbation key.
TAGS_DIR = 'tags'
#: Description file of one tags folder.
TAGS_META = 'tags_meta.json'
TAGS_FORMAT = 'avsseg-bavs-tags/1'
FILTERS = ('category_score', 'two_phase', 'none')


def load_test_tool():
    """``tools/test.py`` as a module: its ``--audio-perturb`` handling is reused, not copied."""
    spec = importlib.util.spec_from_file_location('avsseg_tools_test', osp.join(REPO_ROOT, 'tools', 'test.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def add_perturbation_args(parser: argparse.ArgumentParser) -> None:
    """tools/test.py's ``--audio-perturb`` / ``--snr`` / ``--offscreen-audio`` (also used by sweep_avis.py)."""
    from avsseg.datasets.audio.perturbation import AUDIO_PERTURBATIONS, DEFAULT_PERTURBATION_SNR_DB
    parser.add_argument('--audio-perturb', choices=('none', ) + AUDIO_PERTURBATIONS, default='none',
                        help='audio perturbation of the tagged clips, as tools/test.py (seed 0)')
    parser.add_argument('--snr', type=float, default=None,
                        help=f'SNR in dB of --audio-perturb noise / offscreen (default {DEFAULT_PERTURBATION_SNR_DB})')
    parser.add_argument('--offscreen-audio', metavar='PATH', default=None,
                        help='with --audio-perturb offscreen: this one sound file mixed into every clip')


def check_perturbation_args(parser: argparse.ArgumentParser, args) -> None:
    """The checks tools/test.py makes on the perturbation options (its own function)."""
    load_test_tool().check_perturbation_args(parser, args)


def perturbation_record(args) -> dict:
    """The perturbation as recorded in ``tags_meta.json``: ``dict(type[, seed, snr_db][, offscreen_audio,
    offscreen_sha256])`` with the SNR the dataset wrapper applies (its default when ``--snr`` is not given)."""
    from avsseg.datasets.audio.perturbation import DEFAULT_PERTURBATION_SNR_DB, WAVEFORM_PERTURBATIONS
    from avsseg.models.segmentors.avsc_segmentor import file_sha256
    if args.audio_perturb == 'none':
        return dict(type='none')
    record = dict(type=args.audio_perturb, seed=0)
    if args.audio_perturb in WAVEFORM_PERTURBATIONS:
        record['snr_db'] = float(DEFAULT_PERTURBATION_SNR_DB if args.snr is None else args.snr)
    if args.offscreen_audio is not None:
        record['offscreen_audio'] = osp.abspath(args.offscreen_audio)
        record['offscreen_sha256'] = file_sha256(args.offscreen_audio)
    return record


def perturbation_key(record: dict) -> str:
    """Folder name of a perturbation record: ``none``, ``silence``, ``swap``, ``noise_snr10``, ``offscreen_snr0``,
    ``offscreen_snr0_<file stem>-<sha256[:8]>`` (a fixed off-screen file)."""
    key = record['type']
    if 'snr_db' in record:
        key += f'_snr{record["snr_db"]:g}'
    if 'offscreen_audio' in record:
        stem = ''.join(c if c.isalnum() or c in '-.' else '-' for c in osp.splitext(osp.basename(
            record['offscreen_audio']))[0])
        key += f'_{stem}-{record["offscreen_sha256"][:8]}'
    return key


def tags_folder(cache_root: str, key: str) -> str:
    """``{cache_root}/tags/{key}``."""
    return osp.join(cache_root, TAGS_DIR, key)


def tags_path(cache_root: str, key: str, clip_id: str) -> str:
    """``{cache_root}/tags/{key}/{clip_id}.npz``."""
    return osp.join(tags_folder(cache_root, key), f'{clip_id}.npz')


def cached_tag_keys(cache_root: str) -> List[str]:
    """The perturbation keys whose tags the cache holds."""
    root = osp.join(cache_root, TAGS_DIR)
    if not osp.isdir(root):
        return []
    return sorted(k for k in os.listdir(root) if osp.isfile(osp.join(root, k, TAGS_META)))


def read_tags_meta(cache_root: str, key: str) -> dict:
    """``tags_meta.json`` of one perturbation; an error naming the cached keys when it is missing."""
    path = osp.join(tags_folder(cache_root, key), TAGS_META)
    if not osp.isfile(path):
        have = cached_tag_keys(cache_root)
        raise FileNotFoundError(f'{path} does not exist: the cache {cache_root} holds no tags for the audio '
                                f'perturbation {key!r} (it holds {have or "no tags"}); write them with '
                                'cache_stage1.py CONFIG CKPT --tags [--tags-only] and the same --audio-perturb / --snr '
                                '/ --offscreen-audio')
    with open(path) as f:
        meta = json.load(f)
    if meta.get('format') != TAGS_FORMAT:
        raise ValueError(f'{path}: format {meta.get("format")!r}, expected {TAGS_FORMAT!r}')
    return meta


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Cache the stage-1 potential instance sets (and with --tags the BAVS '
                                     'tag confidences) of a split')
    parser.add_argument('config', help='stage-1 or stage-2 config (a BAVS stage-2 config for --tags)')
    parser.add_argument('checkpoint', help='stage-1 checkpoint (a stage-2 checkpoint also holds the stage-1 weights; '
                        '--tags needs the composed BAVS checkpoint)')
    parser.add_argument('--split', default='test', choices=['train', 'val', 'test'])
    parser.add_argument('--out', required=True, help='cache folder')
    parser.add_argument('--data-root', default=None, help='data root of the dataset')
    parser.add_argument('--instance-filter', choices=FILTERS, default=None,
                        help="filter of the cached sets instead of the head's ('none' keeps every query not "
                        'predicting no-object, so sweep_avis.py can apply the two-phase filter with any t)')
    parser.add_argument('--tags', action='store_true', help='also cache the tagger confidences per clip (BAVS)')
    parser.add_argument('--tags-only', action='store_true',
                        help='only the tags, next to an existing instance cache of the same checkpoint and split')
    parser.add_argument('--tags-dtype', choices=('float32', 'float16'), default='float32')
    parser.add_argument('--batch-size', type=int, default=None,
                        help="clips per forward pass (default: the config's test batch size)")
    add_perturbation_args(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='key=value overrides of the config')
    args = parser.parse_args(argv)
    if args.tags_only:
        args.tags = True
    check_perturbation_args(parser, args)
    if args.audio_perturb != 'none' and not args.tags:
        parser.error('--audio-perturb only changes the tags (stage 1 never sees the audio); add --tags')
    if args.tags_only and args.instance_filter is not None:
        parser.error('--tags-only writes no instance sets; --instance-filter does not apply')
    return args


def stage1_model_cfg(model_cfg, instance_filter: Optional[str] = None):
    """The ``PSOSSegmentor`` part of a stage-1 or stage-2 model config (optionally with another filter)."""
    keep = ('data_preprocessor', 'backbone', 'decode_head', 'train_cfg', 'test_cfg')
    cfg = {k: model_cfg[k] for k in keep if k in model_cfg}
    cfg.update(type='PSOSSegmentor', audio_backbone=None)
    if instance_filter is not None:
        cfg['decode_head'] = dict(cfg['decode_head'], instance_filter=instance_filter)
    return cfg


def build_tag_model(cfg, checkpoint: str):
    """The config's ``BAVSSegmentor`` with every weight from ``checkpoint`` (strict, as tools/test.py loads it)."""
    from mmengine.runner import load_checkpoint

    from avsseg.models.segmentors.bavs_segmentor import BAVSSegmentor
    from avsseg.registry import MODELS
    from avsseg.utils import drop_missing_weight_files
    if str(cfg.model.get('type', '')).split('.')[-1] != 'BAVSSegmentor':
        raise ValueError(f'cache_stage1 --tags: the model of {cfg.filename} is a {cfg.model.get("type")!r}; --tags '
                         'needs a BAVS stage-2 config (BAVSSegmentor: the tagger, its label_mids and the integrator)')
    drop_missing_weight_files(cfg)  # the checkpoint holds every weight (BEATs' pretrained file need not be here)
    model = MODELS.build(cfg.model)
    if not isinstance(model, BAVSSegmentor):
        raise ValueError(f'cache_stage1 --tags: the model of {cfg.filename} is a {type(model).__name__}; --tags needs '
                         'a BAVS stage-2 config (BAVSSegmentor: the tagger, its label_mids and the integrator)')
    try:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True, logger='silent')
    except RuntimeError as err:
        raise ValueError(f'cache_stage1 --tags: {checkpoint} does not hold the weights of the BAVSSegmentor of '
                         f'{cfg.filename} (compose it with tools/model_converters/compose_two_stage.py): {err}')
    return model.eval()


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from torch.utils.data import DataLoader

    import avsseg  # noqa: F401
    from avsseg.datasets.transforms import avs_collate
    from avsseg.datasets.transforms.loading_instances import CACHE_META, cache_frame_path, read_cache_meta
    from avsseg.models.segmentors.avsc_segmentor import STAGE1_PREFIXES, file_sha256, load_stage1_state
    from avsseg.registry import DATASETS, MODELS
    from avsseg.structures import metas_of

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'avsseg'))
    digest = file_sha256(args.checkpoint)
    if args.tags_only:
        meta = read_cache_meta(args.out)
        if meta.get('stage1_sha256') != digest or meta.get('split') != args.split:
            raise ValueError(f'cache_stage1 --tags-only: the instance cache {args.out} holds split '
                             f'{meta.get("split")!r} from a checkpoint with sha256 {meta.get("stage1_sha256")}, '
                             f'not split {args.split!r} of {args.checkpoint} ({digest}); rerun without --tags-only')
        model = None
    else:
        model = MODELS.build(stage1_model_cfg(cfg.model, args.instance_filter))
        state = load_stage1_state(args.checkpoint)
        own = {k for k in model.state_dict() if k.startswith(STAGE1_PREFIXES)}
        if own != set(state):
            raise ValueError(f'cache_stage1: {args.checkpoint} does not match the stage-1 model of {args.config}: '
                             f'missing {sorted(own - set(state))[:8]}, unexpected {sorted(set(state) - own)[:8]}')
        model.load_state_dict(state, strict=False)
        model.eval()
    tag_model = build_tag_model(copy.deepcopy(cfg), args.checkpoint) if args.tags else None

    ds_cfg = cfg.test_dataloader.dataset.copy()
    ds_cfg['split'] = args.split
    ds_cfg['test_mode'] = True
    if args.data_root is not None:
        ds_cfg['data_root'] = args.data_root
    record = dict(type='none')
    if args.tags:
        record = perturbation_record(args)
        if args.audio_perturb != 'none':
            cfg.test_dataloader.dataset = ds_cfg
            ds_cfg = load_test_tool().set_audio_perturbation(cfg, args).test_dataloader.dataset
    dataset = DATASETS.build(ds_cfg)
    batch_size = args.batch_size or int(cfg.test_dataloader.get('batch_size', 1))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0, collate_fn=avs_collate)
    os.makedirs(args.out, exist_ok=True)
    key = perturbation_key(record)
    if args.tags:
        os.makedirs(tags_folder(args.out, key), exist_ok=True)
    num_frames, clips = 0, []
    with torch.no_grad():
        for batch in loader:
            if model is not None:
                for sample in model.test_step(batch):
                    meta = sample.metainfo
                    inst = sample.pred_instances
                    masks = inst.masks.cpu().numpy().astype(bool)
                    np.savez(cache_frame_path(args.out, meta['clip_id'], meta['frame_idx']),
                             labels=inst.labels.cpu().numpy().astype(np.int16),
                             scores=inst.scores.cpu().numpy().astype(np.float32),
                             cls_probs=inst.cls_probs.cpu().numpy().astype(np.float32),
                             masks=np.packbits(masks.reshape(-1)), shape=np.asarray(masks.shape),
                             input_shape=np.asarray(meta['img_shape'][:2]))
                    num_frames += 1
            if tag_model is not None:
                data = tag_model.data_preprocessor(batch, False)
                metas = metas_of(data['data_samples'])
                probs = tag_model.extract_audio_feat(data['inputs']['audio'], metas).float().cpu().numpy()
                start = 0
                while start < len(metas):
                    clip_id, length = metas[start]['clip_id'], int(metas[start]['num_frames'])
                    rows = slice(start, start + length)
                    np.savez(tags_path(args.out, key, clip_id), probs=probs[rows].astype(args.tags_dtype),
                             is_padded=np.asarray([bool(m.get('is_padded', False)) for m in metas[rows]]))
                    clips.append(clip_id)
                    start += length
    if model is not None:
        head = model.decode_head
        with open(osp.join(args.out, CACHE_META), 'w') as f:
            json.dump(dict(stage1_checkpoint=osp.abspath(args.checkpoint), stage1_sha256=digest,
                           instance_filter=head.instance_filter, iou_thr=head.iou_thr, split=args.split,
                           config=osp.abspath(args.config), num_frames=num_frames), f, indent=1)
        print(f'cache_stage1: {num_frames} frames of {args.split} -> {args.out}')
    if tag_model is not None:
        with open(osp.join(tags_folder(args.out, key), TAGS_META), 'w') as f:
            json.dump(dict(format=TAGS_FORMAT, checkpoint=osp.abspath(args.checkpoint), checkpoint_sha256=digest,
                           tagger=type(tag_model.audio_backbone).__name__, perturbation=record, key=key,
                           split=args.split, config=osp.abspath(args.config), dtype=args.tags_dtype,
                           label_mids=list(tag_model.label_mids), clips=clips), f, indent=1)
        print(f'cache_stage1: tags of {len(clips)} clips of {args.split} ({key}) -> {tags_folder(args.out, key)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
