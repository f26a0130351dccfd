"""What the three AVSBench readers share: split checks, audio-source choice, file checks."""
import csv
import os
import os.path as osp
from collections import defaultdict
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset

from avsseg.registry import DATASETS

#: How many missing files an error message lists before it only gives a count.
MAX_LISTED_PROBLEMS = 5


def format_problems(problems: Sequence[str], limit: int = MAX_LISTED_PROBLEMS) -> str:
    """``'a; b; c ... and N more'``: a readable summary of many per-file problems."""
    shown = '\n  '.join(problems[:limit])
    more = f'\n  ... and {len(problems) - limit} more' if len(problems) > limit else ''
    return f'\n  {shown}{more}'


def problems_error(error_type: type, message: str, problems: Sequence[str]) -> Exception:
    """``error_type(message + summary of problems)`` carrying the complete list as ``problems``.

    The message lists the first :data:`MAX_LISTED_PROBLEMS`; tools that report everything
    (``tools/dataset_converters/check_dataset.py``) read ``err.problems``.
    """
    err = error_type(message + format_problems(problems))
    err.problems = list(problems)
    return err


class CsvRow(list):
    """The stripped cells of one metadata csv record, with ``line``, its 1-based line number in the file (named in
    error messages)."""

    def __init__(self, cells: Sequence[str], line: int):
        super().__init__(cells)
        self.line = line


@DATASETS.register_module()
class BaseAVSDataset(BaseDataset):
    """Base class of the AVSBench readers: one item is one clip of T frames.

    ``get_data_info(idx)`` returns the clip dict of ``docs/design.md``: ``clip_id``, ``img_paths`` (T paths,
    ``None`` for padded frames), ``seg_map_paths`` (``None`` where a frame has no label), ``audio_path``
    (``.pkl`` log-mel or waveform), ``num_frames``, ``frame_flags=dict(is_labeled=[bool]*T,
    is_padded=[bool]*T)``, ``subset``, ``category`` and ``label_format``. Every file a clip needs is checked
    with ``os.path.exists`` when the list is built; missing files raise one error listing them (nothing is
    skipped). Test-time audio perturbations wrap a reader in :class:`~avsseg.datasets.AudioPerturbedDataset`.

    Subclasses implement :meth:`parse_clips`, returning clip dicts with ``audio_candidates=dict(pkl=path,
    wav=path)`` instead of ``audio_path``; this class picks the audio file and checks files.

    Args:
        split: ``'train'``, ``'val'`` or ``'test'``.
        data_root: the release folder (``.../Single-source``, ``.../Multi-sources``, ``.../AVSBench_semantic``).
        ann_file: the metadata csv, relative to ``data_root``.
        audio_source: ``'auto'`` (the official ``.pkl`` log-mel when it exists, else the ``.wav``), or force
            ``'pkl'`` / ``'wav'``.
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
    def _path(self, *parts: str) -> str:
        return osp.join(self.data_root, *parts)

    def read_csv(self, num_columns: Optional[int] = None) -> Tuple[List[str], List[CsvRow]]:
        """``(header, rows)`` of ``ann_file`` after checking that it exists, that every row has as many cells as
        the header (``num_columns`` when the layout is read positionally) and that it has
        :attr:`REQUIRED_COLUMNS`. Rows are :class:`CsvRow` lists of stripped cells that know their line."""
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
                rows.append(CsvRow([cell.strip() for cell in row], line=line_no))
        return header, rows

    def check_rows(self, rows: Sequence[CsvRow], split_index: int, id_index: int) -> None:
        """Check the split and clip id columns of every row of the csv (all splits, not only :attr:`split`).

        Raises ``ValueError`` naming the csv and its lines when a row names a split that is not one of
        :attr:`SPLITS` (the clip would silently belong to no split), when a clip id is listed in two splits (a
        train/test leak: the model would be scored on clips it was trained on) or twice in one split.

        Args:
            rows: the csv rows (:class:`CsvRow`, from :meth:`read_csv`).
            split_index: column of the split name.
            id_index: column of the clip id.
        """
        name = self.__class__.__name__
        unknown = [r for r in rows if r[split_index] not in self.SPLITS]
        if unknown:
            raise problems_error(
                ValueError, f'{name}: {self.ann_file}: {len(unknown)} row(s) name a split that is not one of the '
                f'known splits {self.SPLITS}; such a clip would belong to no split (split names are '
                f'case-sensitive):', [f'line {r.line}: split {r[split_index]!r} (clip {r[id_index]})' for r in unknown])
        by_id: Dict[str, List[CsvRow]] = defaultdict(list)
        for r in rows:
            by_id[r[id_index]].append(r)
        repeated = {clip_id: rs for clip_id, rs in by_id.items() if len(rs) > 1}
        if not repeated:
            return

        def where(clip_id):
            return f'clip {clip_id}: ' + ', '.join(f'line {r.line} ({r[split_index]})' for r in repeated[clip_id])

        leaks = [clip_id for clip_id, rs in repeated.items() if len({r[split_index] for r in rs}) > 1]
        if leaks:
            raise problems_error(
                ValueError, f'{name}: {self.ann_file}: {len(leaks)} clip id(s) appear in more than one split (a '
                'train/test leak: a model would be scored on clips it was trained on):', [where(i) for i in leaks])
        raise problems_error(ValueError, f'{name}: {self.ann_file}: {len(repeated)} clip id(s) repeat within a split:',
                             [where(i) for i in repeated])

    def select_split(self, rows: List[CsvRow], split_index: int, id_index: int = 0) -> List[CsvRow]:
        """Rows of :attr:`split`, after :meth:`check_rows` on all rows; an error names the csv and the splits it
        has when there is none.

        Args:
            rows: the csv rows.
            split_index: column of the split name.
            id_index: column of the clip id.
        """
        self.check_rows(rows, split_index, id_index)
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
            raise problems_error(
                FileNotFoundError, f'{name} (split {self.split!r}, data_root {self.data_root}): {len(problems)} '
                'problem(s) with the release files:', problems)
        ids = [c['clip_id'] for c in clips]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f'{name}: clip ids repeat in {self.ann_file}: {dup[:MAX_LISTED_PROBLEMS]}')
        return clips

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
