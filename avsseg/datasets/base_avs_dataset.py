"""What the three AVSBench readers share: split checks, audio-source choice, file checks, test-time audio
perturbations."""
import csv
import os
import os.path as osp
import zlib
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset

from avsseg.registry import DATASETS

#: Test-time audio perturbations (the audio-sensitivity protocols of BAVS Table III and of the mutual-semantics
#: paper's Table 6).
AUDIO_PERTURBATIONS = ('silence', 'swap', 'noise', 'offscreen')

#: Default signal-to-noise ratio of the ``noise`` and ``offscreen`` perturbations. Neither paper states the
#: level it used (BAVS only says each test recording is "mixed with white noise" or "blended with" an
#: off-screen "electrical clipper" sound), so the default is 0 dB: equal power, a contamination in which the
#: on-screen source is still clearly audible. Set ``snr_db`` to sweep other levels.
DEFAULT_PERTURBATION_SNR_DB = 0.0

#: How many missing files an error message lists before it only gives a count.
MAX_LISTED_PROBLEMS = 5


def format_problems(problems: Sequence[str], limit: int = MAX_LISTED_PROBLEMS) -> str:
    """``'a; b; c ... and N more'``: a readable summary of many per-file problems."""
    shown = '\n  '.join(problems[:limit])
    more = f'\n  ... and {len(problems) - limit} more' if len(problems) > limit else ''
    return f'\n  {shown}{more}'


def clip_seed(seed: int, clip_id: str) -> int:
    """A per-clip random seed that depends only on the global seed and the clip id (not on the order)."""
    return zlib.crc32(f'{int(seed)}:{clip_id}'.encode('utf-8'))


def category_derangement(categories: Sequence[Optional[str]], seed: int) -> List[int]:
    """A seeded permutation without fixed points that pairs clips of different categories where possible.

    Clips are grouped by category (groups shuffled inside), the largest group is put first, and clip at
    position ``k`` of that order gets the partner at position ``k + m`` (mod n), ``m`` the largest group's
    size. Because every group is contiguous and no larger than ``m``, partners are always of different
    categories when ``m <= n / 2``; otherwise exactly ``2 (n - m)`` pairs cross categories, the most possible.
    With a single category (or none) the shift is 1 over a shuffled order.

    Args:
        categories: category of each clip (``None`` when the subset has none).
        seed: random seed.

    Returns:
        list: ``partner[i]`` is the index of the clip whose audio clip ``i`` receives; ``partner[i] != i``.
    """
    n = len(categories)
    if n < 2:
        raise ValueError(f'a swapped/off-screen audio partner needs at least 2 clips, the dataset has {n}')
    rng = np.random.default_rng(seed)
    groups: Dict[str, List[int]] = {}
    for i, cat in enumerate(categories):
        groups.setdefault('' if cat is None else str(cat), []).append(i)
    names = sorted(groups)
    names = [names[j] for j in rng.permutation(len(names))]
    for name in names:
        groups[name] = [groups[name][j] for j in rng.permutation(len(groups[name]))]
    names.sort(key=lambda name: -len(groups[name]))  # stable: ties keep the shuffled order
    order = [i for name in names for i in groups[name]]
    largest = len(groups[names[0]])
    shift = largest if largest < n else 1
    partner = [0] * n
    for k, i in enumerate(order):
        partner[i] = order[(k + shift) % n]
    return partner


@DATASETS.register_module()
class BaseAVSDataset(BaseDataset):
    """Base class of the AVSBench readers: one item is one clip of T frames.

    ``get_data_info(idx)`` returns the clip dict of ``docs/design.md``: ``clip_id``, ``img_paths`` (T paths,
    ``None`` for padded frames), ``seg_map_paths`` (``None`` where a frame has no label), ``audio_path``
    (``.pkl`` log-mel or waveform), ``num_frames``, ``frame_flags=dict(is_labeled=[bool]*T,
    is_padded=[bool]*T)``, ``subset``, ``category``, ``label_format`` and, when ``audio_perturbation`` is
    set, ``audio_perturbation`` (see below). Every file a clip needs is checked with ``os.path.exists`` when
    the list is built; missing files raise one error listing them (nothing is skipped).

    Subclasses implement :meth:`parse_clips`, returning clip dicts with ``audio_candidates=dict(pkl=path,
    wav=path)`` instead of ``audio_path``; this class picks the audio file, checks files and assigns the
    perturbation partners.

    Args:
        split: ``'train'``, ``'val'`` or ``'test'``.
        data_root: the release folder (``.../Single-source``, ``.../Multi-sources``, ``.../AVSBench_semantic``).
        ann_file: the metadata csv, relative to ``data_root``.
        audio_source: ``'auto'`` (the official ``.pkl`` log-mel when it exists, else the ``.wav``), or force
            ``'pkl'`` / ``'wav'``.
        audio_perturbation: optional test-time audio change, ``dict(type=..., snr_db=0.0, seed=0,
            audio_path=None)`` with ``type`` one of

            - ``'silence'``: the audio is replaced by silence;
            - ``'swap'``: each clip gets another clip's audio (a seeded derangement preferring a clip of another
              category), the "unmatching audio" case;
            - ``'noise'``: white noise mixed in at ``snr_db`` (needs waveforms);
            - ``'offscreen'``: another clip's waveform (same derangement as ``swap``), or the fixed sound
              ``audio_path`` when given (BAVS used one "electrical clipper" recording), mixed in at ``snr_db``.

            Each clip's data info gets ``audio_perturbation=dict(type, snr_db, seed=<per-clip seed>,
            other_audio_path, other_clip_id)``, which :class:`LoadClipAudio` applies.
        pipeline, test_mode, metainfo, lazy_init, serialize_data, indices, max_refetch: as in mmengine's
            ``BaseDataset``.
    """

    METAINFO = dict(classes=('background', 'object'), palette=[[0, 0, 0], [255, 255, 255]])
    SPLITS = ('train', 'val', 'test')
    AUDIO_SOURCES = ('auto', 'pkl', 'wav')
    #: Columns the metadata csv must have (subclasses set them).
    REQUIRED_COLUMNS: Sequence[str] = ()

    def __init__(self,
                 split: str,
                 data_root: str,
                 ann_file: str = '',
                 audio_source: str = 'auto',
                 audio_perturbation: Optional[dict] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 metainfo: Optional[dict] = None,
                 lazy_init: bool = False,
                 serialize_data: bool = True,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 max_refetch: int = 1000):
        name = self.__class__.__name__
        if not data_root or not osp.isdir(data_root):
            raise FileNotFoundError(f'{name}: data_root {data_root!r} is not a directory')
        if split not in self.SPLITS:
            raise ValueError(f'{name}: split must be one of {self.SPLITS}, got {split!r}')
        if audio_source not in self.AUDIO_SOURCES:
            raise ValueError(f'{name}: audio_source must be one of {self.AUDIO_SOURCES}, got {audio_source!r}')
        self.split = split
        self.audio_source = audio_source
        self.audio_perturbation = self._check_perturbation(audio_perturbation)
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=dict(),
            indices=indices,
            serialize_data=serialize_data,
            pipeline=list(pipeline),
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch)

    # ------------------------------------------------------------------ helpers for subclasses
    def _check_perturbation(self, cfg: Optional[dict]) -> Optional[dict]:
        if cfg is None:
            return None
        name = self.__class__.__name__
        if not isinstance(cfg, dict) or cfg.get('type') not in AUDIO_PERTURBATIONS:
            raise ValueError(f'{name}: audio_perturbation must be a dict with type in {AUDIO_PERTURBATIONS}, '
                             f'got {cfg!r}')
        unknown = set(cfg) - {'type', 'snr_db', 'seed', 'audio_path'}
        if unknown:
            raise ValueError(f'{name}: unknown audio_perturbation keys {sorted(unknown)} (known: type, snr_db, '
                             'seed, audio_path)')
        out = dict(type=cfg['type'], seed=int(cfg.get('seed', 0)))
        if cfg['type'] in ('noise', 'offscreen'):
            out['snr_db'] = float(cfg.get('snr_db', DEFAULT_PERTURBATION_SNR_DB))
        if cfg.get('audio_path') is not None:
            if cfg['type'] != 'offscreen':
                raise ValueError(f'{name}: audio_perturbation.audio_path (a fixed off-screen sound) only applies '
                                 f'to type="offscreen", not {cfg["type"]!r}')
            if not osp.isfile(cfg['audio_path']):
                raise FileNotFoundError(f'{name}: off-screen sound audio_perturbation.audio_path not found: '
                                        f'{cfg["audio_path"]}')
            out['audio_path'] = cfg['audio_path']
        return out

    def _path(self, *parts: str) -> str:
        return osp.join(self.data_root, *parts)

    def read_csv(self, num_columns: Optional[int] = None) -> Tuple[List[str], List[List[str]]]:
        """``(header, rows)`` of ``ann_file`` after checking that it exists, that every row has as many cells as
        the header (``num_columns`` when the layout is read positionally) and that it has
        :attr:`REQUIRED_COLUMNS`."""
        name = self.__class__.__name__
        if not self.ann_file or not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{name}: metadata csv not found: {self.ann_file!r}')
        with open(self.ann_file, newline='', encoding='utf-8') as f:
            reader = csv.reader(f)
            try:
                header = [h.strip() for h in next(reader)]
            except StopIteration:
                raise ValueError(f'{name}: metadata csv {self.ann_file} is empty') from None
            if num_columns is not None and len(header) != num_columns:
                raise ValueError(f'{name}: metadata csv {self.ann_file} must have {num_columns} columns, its '
                                 f'header has {len(header)}: {header}')
            missing = [c for c in self.REQUIRED_COLUMNS if c not in header]
            if missing:
                raise ValueError(f'{name}: metadata csv {self.ann_file} lacks columns {missing} '
                                 f'(header: {header})')
            rows = []
            for line_no, row in enumerate(reader, start=2):
                if not row or all(not cell.strip() for cell in row):
                    continue  # blank line (e.g. a trailing newline): not a record
                if len(row) != len(header):
                    raise ValueError(f'{name}: {self.ann_file} line {line_no} has {len(row)} columns, the '
                                     f'header has {len(header)}: {row}')
                rows.append([cell.strip() for cell in row])
        return header, rows

    def select_split(self, rows: List[List[str]], split_index: int) -> List[List[str]]:
        """Rows of :attr:`split`; an error names the csv and the splits it has when there is none."""
        selected = [r for r in rows if r[split_index] == self.split]
        if not selected:
            present = sorted({r[split_index] for r in rows})
            raise ValueError(f'{self.__class__.__name__}: split {self.split!r} has no clips in {self.ann_file} '
                             f'(splits present: {present})')
        return selected

    # ------------------------------------------------------------------ list building
    def parse_clips(self) -> List[dict]:
        """Clip dicts of :attr:`split` (subclasses). Each carries ``audio_candidates=dict(pkl=..., wav=...)``
        and may carry ``_problems`` (layout errors found while parsing, e.g. count mismatches)."""
        raise NotImplementedError(f'{self.__class__.__name__} must implement parse_clips()')

    def _choose_audio(self, clip: dict, problems: List[str]) -> Optional[str]:
        cands = clip.pop('audio_candidates')
        if self.audio_source == 'auto':
            for key in ('pkl', 'wav'):
                if cands.get(key) and osp.isfile(cands[key]):
                    return cands[key]
            problems.append(f'clip {clip["clip_id"]}: no audio, neither {cands.get("pkl")} nor '
                            f'{cands.get("wav")} exists')
            return None
        path = cands.get(self.audio_source)
        if not path or not osp.isfile(path):
            problems.append(f'clip {clip["clip_id"]}: missing {self.audio_source} audio {path}')
            return None
        return path

    def load_data_list(self) -> List[dict]:
        clips = self.parse_clips()
        name = self.__class__.__name__
        if not clips:
            raise ValueError(f'{name}: no clips for split {self.split!r} in {self.ann_file}')
        problems: List[str] = []
        for clip in clips:
            problems.extend(clip.pop('_problems', []))
            clip['audio_path'] = self._choose_audio(clip, problems)
            for kind, key in (('frame', 'img_paths'), ('mask', 'seg_map_paths')):
                for t, path in enumerate(clip[key]):
                    if path is not None and not osp.isfile(path):
                        problems.append(f'clip {clip["clip_id"]}: missing {kind} {t}: {path}')
        if problems:
            raise FileNotFoundError(f'{name} (split {self.split!r}, data_root {self.data_root}): '
                                    f'{len(problems)} problem(s) with the release files:{format_problems(problems)}')
        ids = [c['clip_id'] for c in clips]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f'{name}: clip ids repeat in {self.ann_file}: {dup[:MAX_LISTED_PROBLEMS]}')
        if self.audio_perturbation is not None:
            self._assign_perturbations(clips)
        return clips

    def _assign_perturbations(self, clips: List[dict]) -> None:
        cfg = self.audio_perturbation
        name = self.__class__.__name__
        needs_wave = cfg['type'] in ('noise', 'offscreen')
        if needs_wave:
            pkl = [c['audio_path'] for c in clips if c['audio_path'].endswith('.pkl')]
            if pkl:
                raise ValueError(f'{name}: audio_perturbation {cfg["type"]!r} mixes waveforms, but {len(pkl)} '
                                 f'clip(s) use pre-computed log-mel .pkl audio (e.g. {pkl[0]}); set '
                                 "audio_source='wav'")
        partner = None
        if cfg['type'] == 'swap' or (cfg['type'] == 'offscreen' and 'audio_path' not in cfg):
            partner = category_derangement([c.get('category') for c in clips], cfg['seed'])
        for i, clip in enumerate(clips):
            info = dict(type=cfg['type'], seed=clip_seed(cfg['seed'], clip['clip_id']))
            if 'snr_db' in cfg:
                info['snr_db'] = cfg['snr_db']
            if partner is not None:
                info['other_audio_path'] = clips[partner[i]]['audio_path']
                info['other_clip_id'] = clips[partner[i]]['clip_id']
            elif cfg['type'] == 'offscreen':
                info['other_audio_path'] = cfg['audio_path']
                info['other_clip_id'] = None
            clip['audio_perturbation'] = info

    @staticmethod
    def extra_files(clip_id: str, folder: str, allowed: Sequence[str], num_frames: int,
                    kind: str = 'mask') -> List[str]:
        """Problems for files in ``folder`` (with the extension of ``allowed``) that belong to no frame of the
        clip: a frame/mask count mismatch. ``allowed`` are the file names of frames ``0..T-1``; a missing
        folder is reported by the per-file checks instead."""
        if not osp.isdir(folder):
            return []
        allowed = set(allowed)
        ext = osp.splitext(next(iter(allowed)))[1] if allowed else '.png'
        extra = sorted(f for f in os.listdir(folder) if f.endswith(ext) and f not in allowed)
        if not extra:
            return []
        return [f'clip {clip_id}: {len(extra)} {kind} file(s) in {folder} match none of its {num_frames} frames '
                f'(frame/{kind} count mismatch): {extra[:MAX_LISTED_PROBLEMS]}']

    @staticmethod
    def make_flags(num_frames: int, labeled: Sequence[int], num_real: Optional[int] = None) -> dict:
        """``frame_flags`` with frames ``labeled`` labelled and frames from ``num_real`` on padded."""
        num_real = num_frames if num_real is None else num_real
        return dict(
            is_labeled=[t in set(labeled) for t in range(num_frames)],
            is_padded=[t >= num_real for t in range(num_frames)])
