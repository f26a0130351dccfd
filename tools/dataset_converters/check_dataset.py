"""Check a dataset release before training on it: decode every file of a split and report all problems at once.

    python tools/dataset_converters/check_dataset.py CONFIG [--split {train,val,test} ...] [--data-root DIR]
                                                    [--workers N] [--cfg-options k=v ...]

For each split (default: every split the config has a dataloader for) the config's dataset is built, which
checks the metadata csv (unknown split names, a clip in two splits, missing columns) and that every listed file
exists, and then every file of every clip is read with the loaders of the config's own pipeline
(``LoadClipFrames``, ``LoadClipAnnotations``, ``LoadClipAudio``, ``LoadClipAuxImages``/``LoadClipMaskige``):
corrupt or truncated images, frames of different sizes, masks of another size than their frame, grey values in
binary masks, colours or class indices outside the dataset's classes, unreadable, empty or NaN audio. Frames and
masks are decoded one by one, so every broken file is listed, not only the first of a clip. Audio that had to be
padded or was recorded below 16 kHz is listed as a warning. A progress bar shows each split's clips.

Exit status 0 when no problem was found, 1 otherwise (warnings alone do not fail).
"""
import argparse
import multiprocessing
import os.path as osp
import sys
import warnings
from collections import Counter
from typing import Dict, List, Optional, Tuple

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar

import avsseg  # noqa: F401  (registries)
from avsseg.datasets.transforms import LoadClipAnnotations, LoadClipAudio, LoadClipAuxImages, LoadClipFrames
from avsseg.registry import DATASETS
from avsseg.utils import forked_worker_init

SPLITS = ('train', 'val', 'test')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Decode every file of a dataset split and report all problems')
    parser.add_argument('config', help='config file whose {split}_dataloader.dataset is checked')
    parser.add_argument('--split', nargs='+', choices=SPLITS, help='splits to check (default: every split the '
                        'config has a dataloader for)')
    parser.add_argument('--data-root', help='data_root of the checked datasets (instead of the config\'s)')
    parser.add_argument('--workers', type=int, default=0, help='processes decoding in parallel (0: this one)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config settings, key=value (as tools/train.py)')
    args = parser.parse_args(argv)
    if args.workers < 0:
        parser.error(f'--workers must be >= 0, got {args.workers}')
    return args


def set_data_root(dataset_cfg: dict, data_root: str) -> None:
    """Set ``data_root`` of a dataset config and of the datasets a wrapper config holds."""
    if 'datasets' in dataset_cfg:
        for sub in dataset_cfg['datasets']:
            set_data_root(sub, data_root)
    elif 'dataset' in dataset_cfg:
        set_data_root(dataset_cfg['dataset'], data_root)
    else:
        dataset_cfg['data_root'] = data_root


def leaf_datasets(dataset) -> list:
    """The clip datasets inside wrappers (``ConcatDataset``, ``RepeatDataset``, ``AudioPerturbedDataset``)."""
    if hasattr(dataset, 'datasets'):
        return [leaf for sub in dataset.datasets for leaf in leaf_datasets(sub)]
    if hasattr(dataset, 'dataset'):
        return leaf_datasets(dataset.dataset)
    return [dataset]


class ClipChecker:
    """Reads every file of a clip with the loaders of a dataset's pipeline, one file at a time.

    Args:
        dataset: a clip dataset whose pipeline holds the loaders.
    """

    def __init__(self, dataset):
        transforms = list(getattr(dataset.pipeline, 'transforms', []))
        self.name = type(dataset).__name__

        def first(kind):
            return next((t for t in transforms if isinstance(t, kind)), None)

        self.frames = first(LoadClipFrames)
        self.masks = first(LoadClipAnnotations)
        self.audio = first(LoadClipAudio)
        self.aux = [t for t in transforms if isinstance(t, LoadClipAuxImages)]
        if self.frames is None:
            raise ValueError(f'check_dataset: the pipeline of {self.name} has no LoadClipFrames; nothing to check')

    def loaders(self) -> str:
        names = [type(t).__name__ for t in (self.frames, self.masks, self.audio) if t is not None]
        return ', '.join(names + [f'{type(t).__name__}({t.key!r})' for t in self.aux])

    @staticmethod
    def _run(transform, results: dict, problems: List[str]) -> Optional[dict]:
        try:
            return transform.transform(results)
        except Exception as err:  # every failure of a loader is a finding, reported with the loader's message
            problems.append(str(err).strip())
            return None

    def check(self, info: dict) -> Tuple[List[str], List[str], Counter]:
        """``(problems, warnings, counts of files read)`` of one clip's data info."""
        problems: List[str] = []
        notes: List[str] = []
        counts: Counter = Counter()
        clip_id = info['clip_id']
        img_paths = info['img_paths']
        num_frames = len(img_paths)

        def only(t, value):
            # the clip's list with every other entry empty: the loader reads one file and names its frame index
            return [value if i == t else None for i in range(num_frames)]

        imgs = [None] * num_frames
        for t, path in enumerate(img_paths):
            if path is None:
                continue
            counts['frames'] += 1
            out = self._run(self.frames, dict(info, img_paths=only(t, path)), problems)
            if out is not None:
                imgs[t] = out['imgs'][t]
        sizes = {(img.shape[0], img.shape[1]) for img in imgs if img is not None}
        if len(sizes) > 1:
            listing = ', '.join(f'{osp.basename(p)} {img.shape[0]}x{img.shape[1]}'
                                for p, img in zip(img_paths, imgs) if img is not None)
            problems.append(f'frames of clip {clip_id} differ in size (H x W): {listing}')
        readable = next((img for img in imgs if img is not None), None)
        if self.masks is not None:
            for t, path in enumerate(info['seg_map_paths']):
                if path is None:
                    continue
                counts['masks'] += 1
                frame = imgs[t] if imgs[t] is not None else readable
                if frame is None:
                    problems.append(f'mask {t} of clip {clip_id} ({path}) not checked: no frame of the clip is '
                                    'readable')
                    continue
                self._run(self.masks, dict(info, seg_map_paths=only(t, path), imgs=[frame] * num_frames), problems)
        if self.audio is not None:
            counts['audio files'] += 1
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter('always')
                self._run(self.audio, dict(info), problems)
            notes.extend(f'clip {clip_id}: {w.category.__name__}: {w.message}' for w in caught)
        for aux in self.aux:
            for t, path in enumerate(img_paths):
                if path is None:
                    continue
                counts[f'{aux.key} images'] += 1
                results = dict(info, img_paths=only(t, path))
                if imgs[t] is not None:
                    results['imgs'] = [imgs[t]] * num_frames
                self._run(aux, results, problems)
        return problems, notes, counts


_WORKER: Dict[str, object] = {}


def _check_in_worker(index: int):
    checker, dataset = _WORKER['checker'], _WORKER['dataset']
    return checker.check(dataset.get_data_info(index))


def check_leaf(dataset, workers: int) -> Tuple[List[str], List[str], Counter]:
    """Check every clip of one clip dataset, with a progress bar."""
    checker = ClipChecker(dataset)
    problems: List[str] = []
    notes: List[str] = []
    counts: Counter = Counter()
    num_clips = len(dataset)
    print(f'  {num_clips} clips of {checker.name}, read with {checker.loaders()}')
    bar = ProgressBar(num_clips)
    if workers > 0:
        _WORKER.update(checker=checker, dataset=dataset)
        # forked workers inherit the dataset and the checker; results come back in clip order
        with multiprocessing.get_context('fork').Pool(workers, initializer=forked_worker_init) as pool:
            results = []
            for result in pool.imap(_check_in_worker, range(num_clips), chunksize=4):
                results.append(result)
                bar.update()
        _WORKER.clear()
    else:
        results = []
        for index in range(num_clips):
            results.append(checker.check(dataset.get_data_info(index)))
            bar.update()
    sys.stdout.write('\n')
    for clip_problems, clip_notes, clip_counts in results:
        problems.extend(clip_problems)
        notes.extend(clip_notes)
        counts.update(clip_counts)
    counts['clips'] += num_clips
    return problems, notes, counts


def check_split(cfg: Config, split: str, workers: int) -> Tuple[List[str], List[str]]:
    """Build the split's dataset and read every file; returns ``(problems, warnings)``."""
    dataset_cfg = cfg[f'{split}_dataloader']['dataset']
    print(f'split {split!r}:')
    try:
        dataset = DATASETS.build(dataset_cfg)
    except Exception as err:
        # The clip list cannot be built: the csv or the file listing is wrong. The readers attach every finding.
        listed = getattr(err, 'problems', None)
        if listed:
            print(f'  the clip list could not be built, so no file was decoded; fix these first:\n  '
                  f'{str(err).strip().splitlines()[0]}')
            return list(listed), []
        print('  the clip list could not be built, so no file was decoded; fix this first')
        return [str(err).strip()], []
    problems: List[str] = []
    notes: List[str] = []
    counts: Counter = Counter()
    for leaf in leaf_datasets(dataset):
        leaf_problems, leaf_notes, leaf_counts = check_leaf(leaf, workers)
        problems.extend(leaf_problems)
        notes.extend(leaf_notes)
        counts.update(leaf_counts)
    read = ', '.join(f'{n} {what}' for what, n in counts.items() if what != 'clips')
    print(f'  {counts["clips"]} clips: {read} read')
    return problems, notes


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'avsseg'))
    present = [s for s in SPLITS if cfg.get(f'{s}_dataloader') and cfg[f'{s}_dataloader'].get('dataset')]
    splits = args.split or present
    missing = [s for s in splits if s not in present]
    if missing:
        print(f'check_dataset: {args.config} has no dataset for split(s) {missing} (it has {present})',
              file=sys.stderr)
        return 2
    if args.data_root is not None:
        if not osp.isdir(args.data_root):
            print(f'check_dataset: --data-root {args.data_root} is not a directory', file=sys.stderr)
            return 2
        for split in splits:
            set_data_root(cfg[f'{split}_dataloader']['dataset'], args.data_root)

    total_problems, total_notes = 0, 0
    seen = []
    for split in splits:
        dataset_cfg = cfg[f'{split}_dataloader']['dataset']
        if dataset_cfg in seen:  # e.g. test_dataloader = val_dataloader
            print(f'split {split!r}: the same dataset as a split checked above')
            continue
        seen.append(dataset_cfg)
        problems, notes = check_split(cfg, split, args.workers)
        if problems:
            print(f'  {len(problems)} problem(s):')
            for problem in problems:
                print(f'    {problem}')
        if notes:
            print(f'  {len(notes)} warning(s):')
            for note in notes:
                print(f'    {note}')
        total_problems += len(problems)
        total_notes += len(notes)
    verdict = 'no problem found' if not total_problems else f'{total_problems} problem(s) found'
    print(f'check_dataset: {verdict}, {total_notes} warning(s) ({", ".join(splits)} of {args.config})')
    return 1 if total_problems else 0


if __name__ == '__main__':
    sys.exit(main())
