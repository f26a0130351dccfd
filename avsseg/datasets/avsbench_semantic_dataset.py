"""AVSBench-semantic (AVSS): 70 sounding-object classes + background over the v1s, v1m and v2 subsets."""
import json
import os.path as osp
from typing import List, Optional, Sequence

from avsseg.registry import DATASETS
from .base_avs_dataset import BaseAVSDataset


def avss_palette(num_classes: int) -> List[List[int]]:
    """The colours of the AVSS ``labels_rgb`` masks: PASCAL-VOC style palette, class bits interleaved.

    Bit ``3j`` of the class index goes to bit ``7 - j`` of red, bit ``3j + 1`` to green, bit ``3j + 2`` to
    blue; background (0) is black, class 1 is ``(128, 0, 0)``, class 2 ``(0, 128, 0)``.

    Args:
        num_classes: number of classes (at most 256, where the colours stop being distinct).

    Returns:
        list: ``num_classes`` ``[r, g, b]`` lists.
    """
    if not 0 < num_classes <= 256:
        raise ValueError(f'the AVSS palette has 1..256 distinct colours, got num_classes={num_classes}')
    palette = []
    for c in range(num_classes):
        rgb = [0, 0, 0]
        bit = 7
        while c:
            for ch in range(3):
                rgb[ch] |= ((c >> ch) & 1) << bit
            c >>= 3
            bit -= 1
        palette.append(rgb)
    return palette


@DATASETS.register_module()
class AVSBenchSemanticDataset(BaseAVSDataset):
    """AVSBench-semantic, read from the official release layout.

    ``data_root`` is the ``AVSBench_semantic`` folder::

        metadata.csv               vid,uid,s_min,s_sec,a_obj,split,label   (label = subset v1s / v1m / v2)
        label2idx.json             {class_name: index}, 71 classes, background = 0
        {label}/{uid}/frames/{i}.jpg                 i = 0..T-1, T = 5 (v1s, v1m) or 10 (v2)
        {label}/{uid}/audio.wav                      (or audio.pkl: log-mel [T or 10, 1, 96, 64])
        {label}/{uid}/labels_semantic/{i}.png        index PNG (labelled frames only)
        {label}/{uid}/labels_rgb/{i}.png             colour PNG, class c = avss_palette(71)[c]

    Labelled frames: v1s frame 0 in train and frames 0..4 in val/test (COMBO's convention; the official AVSS
    code flags only frame 0 for the loss but scores all five at test), v1m frames 0..4, v2 frames 0..9. Clips
    are padded to ``max_frames`` (10) frames as the official loader does: padded frames have
    ``img_paths``/``seg_map_paths`` ``None`` and ``is_padded`` set, their images are zeros and their labels
    ``ignore_index``. ``category`` is the free-text ``a_obj`` column.

    Args:
        split: ``'train'``, ``'val'`` or ``'test'``.
        data_root: the ``AVSBench_semantic`` folder.
        ann_file: metadata csv relative to ``data_root``.
        label2idx_file: class index json relative to ``data_root``; gives ``metainfo['classes']`` (ordered by
            index; background must be 0) and the palette.
        subsets: subsets to read, any of ``('v1s', 'v1m', 'v2')``.
        max_frames: clip length after padding, or ``None`` for no padding (clips then have 5 or 10 frames and
            cannot share a batch).
        label_source: ``'semantic'`` (``labels_semantic`` index PNGs, ``label_format='index'``; COMBO) or
            ``'rgb'`` (``labels_rgb`` colour PNGs matched to the palette, ``label_format='palette_rgb'``;
            the official AVSS loader).
        **kwargs: see :class:`BaseAVSDataset`.
    """

    SUBSET_FRAMES = dict(v1s=5, v1m=5, v2=10)
    LABEL_SOURCES = dict(semantic=('labels_semantic', 'index'), rgb=('labels_rgb', 'palette_rgb'))
    REQUIRED_COLUMNS = ('uid', 'split', 'label')

    def __init__(self,
                 split: str,
                 data_root: str,
                 ann_file: str = 'metadata.csv',
                 label2idx_file: str = 'label2idx.json',
                 subsets: Sequence[str] = ('v1s', 'v1m', 'v2'),
                 max_frames: Optional[int] = 10,
                 label_source: str = 'semantic',
                 metainfo: Optional[dict] = None,
                 **kwargs):
        name = self.__class__.__name__
        if isinstance(subsets, str):
            subsets = (subsets, )
        unknown = [s for s in subsets if s not in self.SUBSET_FRAMES]
        if unknown or not subsets:
            raise ValueError(f'{name}: subsets must be a non-empty selection of {tuple(self.SUBSET_FRAMES)}, '
                             f'got {subsets!r}')
        if label_source not in self.LABEL_SOURCES:
            raise ValueError(f'{name}: label_source must be one of {tuple(self.LABEL_SOURCES)}, '
                             f'got {label_source!r}')
        if max_frames is not None and max_frames < 1:
            raise ValueError(f'{name}: max_frames must be positive or None, got {max_frames}')
        self.subsets = tuple(subsets)
        self.max_frames = max_frames
        self.label_source = label_source
        if not data_root or not osp.isdir(data_root):
            raise FileNotFoundError(f'{name}: data_root {data_root!r} is not a directory')
        self.label2idx_file = label2idx_file if osp.isabs(label2idx_file) else osp.join(
            data_root, label2idx_file)
        classes = self.read_classes(self.label2idx_file)
        meta = dict(classes=classes, palette=avss_palette(len(classes)))
        meta.update(metainfo or {})
        super().__init__(split=split, data_root=data_root, ann_file=ann_file, metainfo=meta, **kwargs)

    @classmethod
    def read_classes(cls, path: str) -> tuple:
        """Class names ordered by index from ``label2idx.json``; indices must be ``0..N-1`` and background 0."""
        name = cls.__name__
        if not osp.isfile(path):
            raise FileNotFoundError(f'{name}: class index file not found: {path}')
        try:
            with open(path, encoding='utf-8') as f:
                label2idx = json.load(f)
        except (OSError, ValueError) as err:
            raise ValueError(f'{name}: cannot read class index json {path}: {err}') from err
        if not isinstance(label2idx, dict) or not label2idx:
            raise ValueError(f'{name}: {path} must hold a non-empty {{class_name: index}} object')
        indices = sorted(label2idx.values())
        if indices != list(range(len(label2idx))):
            raise ValueError(f'{name}: {path} must map its {len(label2idx)} classes to indices 0..'
                             f'{len(label2idx) - 1} without gaps or repeats, got {indices}')
        if label2idx.get('background') != 0:
            raise ValueError(f'{name}: {path} must give background index 0 (AVSS convention), got '
                             f'{label2idx.get("background")!r}')
        return tuple(sorted(label2idx, key=label2idx.get))

    def _labeled_frames(self, subset: str, num_real: int) -> List[int]:
        if subset == 'v1s' and self.split == 'train':
            return [0]
        return list(range(num_real))

    def parse_clips(self) -> List[dict]:
        name = self.__class__.__name__
        header, rows = self.read_csv()
        col = {c: header.index(c) for c in header}
        rows = self.select_split(rows, split_index=col['split'], id_index=col['uid'])
        bad = sorted({r[col['label']] for r in rows} - set(self.SUBSET_FRAMES))
        if bad:
            raise ValueError(f'{name}: {self.ann_file} names unknown subsets {bad} in column "label" (known: '
                             f'{tuple(self.SUBSET_FRAMES)})')
        rows = [r for r in rows if r[col['label']] in self.subsets]
        if not rows:
            raise ValueError(f'{name}: split {self.split!r} of {self.ann_file} has no clips of subsets '
                             f'{self.subsets}')
        label_dir_name, label_format = self.LABEL_SOURCES[self.label_source]
        num_classes = len(self._metainfo['classes'])
        clips = []
        for row in rows:
            uid, subset = row[col['uid']], row[col['label']]
            num_real = self.SUBSET_FRAMES[subset]
            num_frames = num_real if self.max_frames is None else self.max_frames
            if num_frames < num_real:
                raise ValueError(f'{name}: max_frames={self.max_frames} is shorter than the {num_real} frames of '
                                 f'{subset} clip {uid}')
            labeled = self._labeled_frames(subset, num_real)
            clip_dir = self._path(subset, uid)
            frame_names = [f'{t}.jpg' for t in range(num_real)]
            label_names = [f'{t}.png' for t in range(num_real)]
            label_dir = osp.join(clip_dir, label_dir_name)
            pad = [None] * (num_frames - num_real)
            clips.append(
                dict(
                    clip_id=uid,
                    img_paths=[osp.join(clip_dir, 'frames', n) for n in frame_names] + pad,
                    seg_map_paths=[osp.join(label_dir, label_names[t]) if t in labeled else None
                                   for t in range(num_real)] + pad,
                    audio_candidates=dict(
                        pkl=osp.join(clip_dir, 'audio.pkl'), wav=osp.join(clip_dir, 'audio.wav')),
                    num_frames=num_frames,
                    frame_flags=self.make_flags(num_frames, labeled, num_real),
                    subset=subset,
                    category=row[col['a_obj']] if 'a_obj' in col else None,
                    label_format=label_format,
                    num_classes=num_classes,
                    _problems=self.extra_files(uid, osp.join(clip_dir, 'frames'), frame_names, num_real, 'frame') +
                    self.extra_files(uid, label_dir, label_names, num_real, 'mask')))
        return clips
