"""AVSBench-object single-source subset (S4)."""
import os.path as osp
from typing import List

from avsseg.registry import DATASETS
from .base_avs_dataset import BaseAVSDataset


@DATASETS.register_module()
class AVSBenchS4Dataset(BaseAVSDataset):
    """AVSBench S4 (single sounding source), read from the official release layout.

    ``data_root`` is the ``Single-source`` folder::

        s4_meta_data.csv                      name,start,category,split (read positionally, as the official code)
        s4_data/visual_frames/{split}/{category}/{name}/{name}_{k}.png     k = 1..5
        s4_data/gt_masks/{split}/{category}/{name}/{name}_{k}.png          0/255, >0 = sounding object
        s4_data/audio_log_mel/{split}/{category}/{name}.pkl                VGGish log-mel [5, 1, 96, 64]
        s4_data/audio_wav/{split}/{category}/{name}.wav                    5 s

    A clip has 5 frames; any other ``.png`` in a clip's frame or mask folder (a 6th frame) is an error. As in the
    official code, training supervises frame 1 only (the release has only mask ``_1`` in train; other train masks,
    if present, are not used), val/test all 5. Labels are binary (``label_format='binary'``: 0 background, 1
    sounding object).

    Args:
        split: ``'train'``, ``'val'`` or ``'test'``.
        data_root: the ``Single-source`` folder.
        ann_file: metadata csv relative to ``data_root``.
        **kwargs: see :class:`BaseAVSDataset` (``audio_source``, ``pipeline``, ...).
    """

    METAINFO = dict(classes=('background', 'object'), palette=[[0, 0, 0], [255, 255, 255]])
    NUM_FRAMES = 5

    def __init__(self, split: str, data_root: str, ann_file: str = 's4_meta_data.csv', **kwargs):
        super().__init__(split=split, data_root=data_root, ann_file=ann_file, **kwargs)

    def parse_clips(self) -> List[dict]:
        # Official columns: 0 = video name, 1 = trim start second, 2 = category, 3 = split.
        _, rows = self.read_csv(num_columns=4)
        num_frames = self.NUM_FRAMES
        labeled = [0] if self.split == 'train' else list(range(num_frames))
        clips = []
        for name, _start, category, split in self.select_split(rows, split_index=3, id_index=0):
            frame_dir = self._path('s4_data', 'visual_frames', split, category, name)
            mask_dir = self._path('s4_data', 'gt_masks', split, category, name)
            frame_names = [f'{name}_{t + 1}.png' for t in range(num_frames)]
            mask_names = frame_names
            clips.append(
                dict(
                    clip_id=name,
                    img_paths=[osp.join(frame_dir, n) for n in frame_names],
                    seg_map_paths=[osp.join(mask_dir, mask_names[t]) if t in labeled else None
                                   for t in range(num_frames)],
                    audio_candidates=dict(
                        pkl=self._path('s4_data', 'audio_log_mel', split, category, f'{name}.pkl'),
                        wav=self._path('s4_data', 'audio_wav', split, category, f'{name}.wav')),
                    num_frames=num_frames,
                    frame_flags=self.make_flags(num_frames, labeled),
                    subset='s4',
                    category=category,
                    label_format='binary',
                    _problems=self.extra_files(name, frame_dir, frame_names, num_frames, 'frame') +
                    self.extra_files(name, mask_dir, mask_names, num_frames)))
        return clips
