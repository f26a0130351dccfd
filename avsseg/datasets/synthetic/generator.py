"""Generate a synthetic dataset in an AVSBench layout: planning the clips, rendering them, writing them.

Everything random is drawn from generators seeded by ``(seed, subset, clip index)``, so a seed gives the same
dataset whatever the number of worker processes.
"""
import json
import multiprocessing
import os
import os.path as osp
import shutil
import time
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..maskige import maskige_path, masks_to_index_map, save_maskige
from .categories import CATEGORIES, SILENT_CATEGORY, category_names
from .render import BACKGROUND_ID, render_frames, sample_scene
from .sound import SAMPLE_RATE, synthesize_clip_audio
from .writer import AVSS_LABELS, LAYOUT_ROOT_ENTRIES, SPLITS, avss_label2idx, write_clip, write_index

SUBSETS = ('s4', 'ms3', 'avss')
#: Default total number of clips per subset (split 70/15/15 into train/val/test).
DEFAULT_NUM_VIDEOS = 600
DEFAULT_SPLIT_RATIOS = (0.7, 0.15, 0.15)
DEFAULT_SILENT_RATIO = 0.15
#: Share of each AVSS split that goes to each AVSBench-semantic subset.
AVSS_LABEL_RATIOS = {'v1s': 0.4, 'v1m': 0.2, 'v2': 0.4}
#: Number of sounding objects in multi-source clips (MS3, v1m, v2) and its probabilities.
MULTI_SOURCE_COUNTS = ((1, 2, 3), (0.4, 0.35, 0.25))
#: Number of extra silent objects in every clip and its probabilities.
SILENT_OBJECT_COUNTS = ((1, 2), (0.5, 0.5))
#: Per-subset code mixed into the clip seeds, so the subsets of one seed differ.
_SUBSET_CODE = {'s4': 4, 'ms3': 3, 'avss': 7}
#: Maskige trees (official layout) under ``data_root``; removed with the layout on ``overwrite``.
MASKIGE_ROOT_ENTRIES = {
    's4': (osp.join('s4_data', 'pre_SAM_mask'), ),
    'ms3': (osp.join('ms3_data', 'pre_SAM_mask'), ),
    'avss': ('pre_SAM_mask', ),
}
#: Name of the JSON record of the generation written next to the layout.
INFO_FILE = 'synthetic_{subset}.json'


def _split_counts(num_videos: int, ratios: Sequence[float]) -> Dict[str, int]:
    if len(ratios) != 3 or min(ratios) < 0 or sum(ratios) <= 0:
        raise ValueError(f'split_ratios must be three non-negative numbers (train, val, test), got {ratios}')
    total = float(sum(ratios))
    n_val = int(round(num_videos * ratios[1] / total))
    n_test = int(round(num_videos * ratios[2] / total))
    # Every split with a non-zero ratio gets a clip, so tiny sets still have all three splits.
    n_val = max(n_val, 1) if ratios[1] > 0 else 0
    n_test = max(n_test, 1) if ratios[2] > 0 else 0
    n_train = num_videos - n_val - n_test
    if n_train < 1:
        raise ValueError(f'num_videos={num_videos} is too small for split_ratios={tuple(ratios)}: '
                         f'no training clip left')
    return dict(train=n_train, val=n_val, test=n_test)


def _largest_remainder(n: int, ratios: Dict[str, float]) -> Dict[str, int]:
    """Integer counts summing to ``n`` in proportion to ``ratios``; each key gets >= 1 when ``n`` allows."""
    keys = list(ratios)
    raw = np.array([ratios[k] for k in keys], float) / sum(ratios.values()) * n
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind='stable')[:n - counts.sum()]:
        counts[i] += 1
    if n >= len(keys):
        for i in range(len(keys)):
            while counts[i] == 0:
                counts[int(np.argmax(counts))] -= 1
                counts[i] += 1
    return dict(zip(keys, counts.tolist()))


def plan_clips(subset: str, num_videos: int, seed: int, silent_ratio: float,
               split_ratios: Sequence[float] = DEFAULT_SPLIT_RATIOS) -> List[Dict]:
    """Decide name, split, silence and (AVSS) semantic subset of every clip.

    Returns:
        One dict per clip: ``index, name, split, silent, start`` (+ AVSS: ``vid, uid, label``) and
        ``num_frames`` (5, or 10 for AVSS ``v2``).
    """
    if not 0 <= silent_ratio < 1:
        raise ValueError(f'silent_ratio must be in [0, 1), got {silent_ratio}')
    rng = np.random.default_rng([seed, _SUBSET_CODE[subset], 0])
    clips = []
    for split, n_split in _split_counts(num_videos, split_ratios).items():
        silent = np.zeros(n_split, bool)
        silent[rng.choice(n_split, int(round(silent_ratio * n_split)), replace=False)] = True
        labels = [None] * n_split
        if subset == 'avss':
            counts = _largest_remainder(n_split, AVSS_LABEL_RATIOS)
            labels = list(rng.permutation([lab for lab in AVSS_LABELS for _ in range(counts[lab])]))
        for j in range(n_split):
            idx = len(clips)
            clip = dict(index=idx, split=split, silent=bool(silent[j]), start=0, num_frames=5)
            if subset == 'avss':
                clip.update(vid=f'syn_avss_{idx:05d}', label=str(labels[j]))
                clip['uid'] = f"{clip['vid']}_{clip['start']}"
                clip['name'] = clip['uid']
                clip['num_frames'] = 10 if clip['label'] == 'v2' else 5
            else:
                clip['name'] = f'syn_{subset}_{idx:05d}'
            clips.append(clip)
    return clips


def _is_single_source(subset: str, clip: Dict) -> bool:
    return subset == 's4' or (subset == 'avss' and clip.get('label') == 'v1s')


def object_proposals(inst: np.ndarray) -> np.ndarray:
    """Class-agnostic proposals of one frame: every visible object, sounding or silent, and the background.

    An idealised stand-in for SAM's "segment everything" output (which also covers the background), used to
    write COMBO Maskiges for the synthetic sets. It carries no hint of which object sounds.

    Args:
        inst: int ``[H, W]`` instance map (object index, :data:`BACKGROUND_ID` = background).

    Returns:
        bool ``[K, H, W]``: one mask per visible object (in object order), then the background (if visible).
    """
    ids = [i for i in np.unique(inst) if i != BACKGROUND_ID]
    if (inst == BACKGROUND_ID).any():
        ids.append(BACKGROUND_ID)
    return np.stack([inst == i for i in ids])


def _write_maskiges(data_root: str, frame_paths: Sequence[str], inst: np.ndarray) -> List[str]:
    """Write ``{frame}_mask_color.png`` of every frame in the official ``pre_SAM_mask`` tree."""
    written = []
    for t, rel in enumerate(frame_paths):
        path = maskige_path(osp.join(data_root, rel))
        os.makedirs(osp.dirname(path), exist_ok=True)
        save_maskige(masks_to_index_map(object_proposals(inst[t])), path)
        written.append(osp.relpath(path, data_root))
    return written


def generate_clip(subset: str,
                  clip: Dict,
                  seed: int,
                  image_size: int,
                  data_root: Optional[str] = None,
                  maskige: bool = False) -> Dict:
    """Render (and, with ``data_root``, write) one planned clip.

    Silent clips show as many objects as sounding ones (drawn from the same count distribution) so the
    number of objects says nothing about silence; their audio is the noise floor and their masks are empty.

    Args:
        subset: ``'s4'``, ``'ms3'`` or ``'avss'``.
        clip: One entry of :func:`plan_clips`.
        seed: Dataset seed.
        image_size: Frame side in pixels.
        data_root: Where to write the clip; ``None`` only renders.
        maskige: Also write a COMBO Maskige of every frame (official ``pre_SAM_mask`` layout, see
            :func:`object_proposals`); needs ``data_root``.

    Returns:
        The clip dict extended with ``category`` (S4 folder), ``a_obj``, ``sounding`` (category names),
        ``objects`` (draw order back to front; each with per-frame pose and ``visible_pixels``), ``audio``
        (per-source pitch / rate / gain), ``paths`` (relative, when written; with ``maskige`` also
        ``paths['maskiges']``, T paths) and, when ``data_root`` is None,
        ``frames`` (T uint8 ``[S, S, 3]``), ``label_maps`` (T uint8 ``[S, S]``), ``instance_maps`` (int16
        ``[T, S, S]``, index into ``objects``, -1 = background) and ``wave`` (float32 samples).
    """
    rng = np.random.default_rng([seed, _SUBSET_CODE[subset], 1, clip['index']])
    single = _is_single_source(subset, clip)
    counts, probs = MULTI_SOURCE_COUNTS
    n_sources = 1 if single else int(rng.choice(counts, p=probs))
    n_objects = n_sources + int(rng.choice(SILENT_OBJECT_COUNTS[0], p=SILENT_OBJECT_COUNTS[1]))
    if clip['silent']:
        n_sources = 0
    cats = [CATEGORIES[i] for i in rng.choice(len(CATEGORIES), n_objects, replace=False)]
    sounding, silent = cats[:n_sources], cats[n_sources:]
    num_frames = clip['num_frames']
    scene, inst, _ = sample_scene(rng, sounding, silent, image_size, num_frames)
    frames = render_frames(scene, inst, rng)
    wave, audio_info = synthesize_clip_audio(sounding, num_frames, rng)

    # Lookup from instance id (+1, so background -1 -> 0) to the written label value.
    lut = np.zeros(len(scene.objects) + 1, np.uint8)
    class_idx = avss_label2idx()
    for i, obj in enumerate(scene.objects):
        if obj.sounding:
            lut[i + 1] = class_idx[obj.category.name] if subset == 'avss' else 1
    label_maps = [lut[inst[t] + 1] for t in range(num_frames)]

    out = dict(clip)
    out['sounding'] = [c.name for c in sounding]
    out['category'] = sounding[0].name if sounding else SILENT_CATEGORY
    out['a_obj'] = ', '.join(out['sounding']) if sounding else SILENT_CATEGORY
    objects = []
    for i, obj in enumerate(scene.objects):
        rec = obj.to_record()
        rec['visible_pixels'] = [int((inst[t] == i).sum()) for t in range(num_frames)]
        objects.append(rec)
    out['objects'] = objects
    out['audio'] = audio_info
    if maskige and data_root is None:
        raise ValueError('generate_clip: maskige=True needs a data_root to write to')
    if data_root is None:
        out.update(frames=frames, label_maps=label_maps, instance_maps=inst, wave=wave)
    else:
        out['paths'] = write_clip(subset, data_root, out, frames, label_maps, wave, SAMPLE_RATE)
        if maskige:
            out['paths']['maskiges'] = _write_maskiges(data_root, out['paths']['frames'], inst)
    return out


def _worker_init():
    # Workers are single-threaded; let the processes, not cv2 threads, share the cores.
    cv2.setNumThreads(1)


def _worker_context():
    """Process start method for the workers.

    Not ``fork``: forking a process in which cv2's thread pool has run can deadlock the children. Not plain
    ``spawn`` either where avoidable: every spawned child would re-import ``avsseg`` (mmseg, mmdet, ...), which
    costs seconds. A fork server that has imported this module once and never run cv2 forks cheap, safe
    children.
    """
    if 'forkserver' in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context('forkserver')
        ctx.set_forkserver_preload([__name__])
        return ctx
    return multiprocessing.get_context('spawn')


def _generate_star(args: Tuple) -> Dict:
    return generate_clip(*args)


def _prepare_out_dir(out_dir: str, subset: str, overwrite: bool) -> None:
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise NotADirectoryError(f'output path {out_dir!r} exists and is not a directory')
    if osp.isdir(out_dir) and os.listdir(out_dir):
        if not overwrite:
            raise FileExistsError(f'output directory {out_dir!r} exists and is not empty; choose another '
                                  f'directory or pass overwrite=True (--overwrite) to replace the {subset} '
                                  f'layout in it')
        # Only what this generator writes for this subset is removed; anything else in the folder stays.
        entries = LAYOUT_ROOT_ENTRIES[subset] + MASKIGE_ROOT_ENTRIES[subset] + (INFO_FILE.format(subset=subset), )
        for entry in entries:
            path = osp.join(out_dir, entry)
            if osp.isdir(path) and not osp.islink(path):
                shutil.rmtree(path)
            elif osp.lexists(path):
                os.remove(path)
    os.makedirs(out_dir, exist_ok=True)


def generate_synthetic_avsbench(out_dir: str,
                                subset: str,
                                seed: int = 0,
                                num_videos: Optional[int] = None,
                                image_size: int = 224,
                                silent_ratio: float = DEFAULT_SILENT_RATIO,
                                split_ratios: Sequence[float] = DEFAULT_SPLIT_RATIOS,
                                workers: int = 1,
                                overwrite: bool = False,
                                progress: bool = False,
                                maskige: bool = False) -> Dict:
    """Write a procedurally generated dataset in the official S4 / MS3 / AVSBench-semantic layout.

    ``out_dir`` becomes the ``data_root`` of the subset (it holds ``s4_meta_data.csv`` / ``ms3_meta_data.csv``
    / ``metadata.csv``). See ``docs/synthetic_data.md`` for the categories, the layout and the guarantees.

    Args:
        out_dir: Output folder; must be empty or absent unless ``overwrite``.
        subset: ``'s4'``, ``'ms3'`` or ``'avss'``.
        seed: Dataset seed; the same arguments give byte-identical frames, masks and wavs.
        num_videos: Total clips, split by ``split_ratios``; default :data:`DEFAULT_NUM_VIDEOS`.
        image_size: Frame side in pixels (224 as the release's S4 / MS3 frames). At least 32.
        silent_ratio: Share of each split's clips that are silent (noise-floor audio, empty masks).
        split_ratios: ``(train, val, test)`` proportions; each non-zero split gets at least one clip.
        workers: Processes rendering clips (1 = in this process). The output does not depend on it.
        overwrite: Replace this subset's layout in a non-empty ``out_dir`` (other files there are kept).
        progress: Show a tqdm progress bar.
        maskige: Also write COMBO Maskiges (``{frame}_mask_color.png`` in the official ``pre_SAM_mask`` tree)
            painted from ideal class-agnostic proposals of all objects and the background
            (:func:`object_proposals`), so COMBO configs train on the set without a SAM model.

    Returns:
        Summary dict: ``subset, data_root, seed, num_videos, image_size, silent_ratio, split_ratios, splits``
        (clips per split), ``silent_clips`` (per split), ``labels`` (AVSS: clips per ``v1s/v1m/v2``),
        ``categories`` (name, shape, colour, sound), ``num_files``, ``elapsed_s`` and ``clips`` (per clip:
        split, name, sounding categories, objects with poses and visible pixel counts, relative ``paths``).
    """
    if subset not in SUBSETS:
        raise ValueError(f'subset must be one of {SUBSETS}, got {subset!r}')
    num_videos = DEFAULT_NUM_VIDEOS if num_videos is None else int(num_videos)
    if num_videos < 3:
        raise ValueError(f'num_videos must be >= 3 (one clip per split at least), got {num_videos}')
    if image_size < 32:
        raise ValueError(f'image_size must be >= 32 pixels, got {image_size}')
    if workers < 1:
        raise ValueError(f'workers must be >= 1, got {workers}')
    t0 = time.perf_counter()
    out_dir = osp.abspath(out_dir)
    _prepare_out_dir(out_dir, subset, overwrite)
    plan = plan_clips(subset, num_videos, seed, silent_ratio, split_ratios)
    tasks = [(subset, clip, seed, image_size, out_dir, maskige) for clip in plan]

    from tqdm import tqdm
    bar = tqdm(total=len(tasks), desc=f'synthetic {subset}', unit='clip', disable=not progress)
    if workers == 1:
        clips = []
        for task in tasks:
            clips.append(_generate_star(task))
            bar.update()
    else:
        with _worker_context().Pool(workers, initializer=_worker_init) as pool:
            clips = []
            for rec in pool.imap(_generate_star, tasks, chunksize=4):
                clips.append(rec)
                bar.update()
    bar.close()
    index_files = write_index(subset, out_dir, clips)

    num_files = len(index_files) + sum(
        len(c['paths']['frames']) + len(c['paths']['labels']) + len(c['paths'].get('labels_rgb', {})) +
        len(c['paths'].get('maskiges', ())) + 1 for c in clips)
    summary = dict(
        subset=subset,
        data_root=out_dir,
        seed=seed,
        num_videos=num_videos,
        image_size=image_size,
        silent_ratio=silent_ratio,
        split_ratios=list(split_ratios),
        maskige=maskige,
        splits={s: sum(c['split'] == s for c in clips) for s in SPLITS},
        silent_clips={s: sum(c['split'] == s and c['silent'] for c in clips) for s in SPLITS},
        labels=({lab: sum(c['label'] == lab for c in clips) for lab in AVSS_LABELS} if subset == 'avss' else None),
        categories=[dict(name=c.name, shape=c.shape, colour=list(c.colour), sound=c.description)
                    for c in CATEGORIES],
        num_files=num_files,
        clips=clips)
    info_path = osp.join(out_dir, INFO_FILE.format(subset=subset))
    with open(info_path, 'w') as f:
        json.dump({k: v for k, v in summary.items() if k != 'data_root'}, f)
    summary['num_files'] += 1
    summary['elapsed_s'] = time.perf_counter() - t0
    return summary


__all__ = [
    'SUBSETS', 'DEFAULT_NUM_VIDEOS', 'DEFAULT_SPLIT_RATIOS', 'DEFAULT_SILENT_RATIO', 'AVSS_LABEL_RATIOS',
    'MASKIGE_ROOT_ENTRIES', 'plan_clips', 'generate_clip', 'object_proposals', 'generate_synthetic_avsbench',
    'category_names', 'BACKGROUND_ID'
]
