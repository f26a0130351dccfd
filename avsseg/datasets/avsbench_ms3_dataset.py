"""AVSBench-object multi-source subset (MS3)."""
import os.path as osp
from typing import List

from avsseg.registry import DATASETS
from .base_avs_dataset import BaseAVSDataset


@DATASETS.register_module()
class AVSBenchMS3Dataset(BaseAVSDataset):
    """AVSBench MS3 (multiple sounding sources), read from the official release layout.

    ``data_root`` is the ``Multi-sources`` folder::

        ms3_meta_data.csv                             name,start,split (column 0 = name, ``split`` by name)
        ms3_data/visual_frames/{name}/{name}.mp4_{i}.png       i = 1..5 (no split folder; ``.mp4_`` infix)
        ms3_data/gt_masks/{split}/{name}/{name}_{i}.png        0/255, >0 = sounding object
        ms3_data/audio_log_mel/{split}/{name}.pkl              VGGish log-mel [5, 1, 96, 64]
        ms3_data/audio_wav/{split}/{name}.wav

    A clip has 5 frames; any other ``.png`` in its frame or mask folder (a 6th frame) is an error. All 5 frames
    are supervised in every split (as the official MS3 loader does). Labels are binary. The
    subset has no categories, so :class:`~avsseg.datasets.AudioPerturbedDataset` pairs clips for ``swap`` at
    random (still never a clip with itself).

    Args:
        split: ``'train'``, ``'val'`` or ``'test'``.
        data_root: the ``Multi-sources`` folder.
        ann_file: metadata csv relative to ``data_root``.
        **kwargs: see :class:`BaseAVSDataset`.
    """

    METAINFO = dict(classes=('background', 'object'), palette=[[0, 0, 0], [255, 255, 255]])
    NUM_FRAMES = 5
    REQUIRED_COLUMNS = ('split', )

    def __init__(self, split: str, data_root: str, ann_file: str = 'ms3_meta_data.csv', **kwargs):
        super().__init__(split=split, data_root=data_root, ann_file=ann_file, **kwargs)

    def parse_clips(self) -> List[dict]:
        header, rows = self.read_csv()
        num_frames = self.NUM_FRAMES
        labeled = list(range(num_frames))
        clips = []
        for row in self.select_split(rows, split_index=header.index('split'), id_index=0):
            name, split = row[0], self.split
            frame_dir = self._path('ms3_data', 'visual_frames', name)
            mask_dir = self._path('ms3_data', 'gt_masks', split, name)
            frame_names = [f'{name}.mp4_{t + 1}.png' for t in range(num_frames)]
            mask_names = [f'{name}_{t + 1}.png' for t in range(num_frames)]
            clips.append(
                dict(
                    clip_id=name,
                    img_paths=[osp.join(frame_dir, n) for n in frame_names],
                    seg_map_paths=[osp.join(mask_dir, n) for n in mask_names],
                    audio_candidates=dict(
                        pkl=self._path('ms3_data', 'audio_log_mel', split, f'{name}.pkl'),
                        wav=self._path('ms3_data', 'audio_wav', split, f'{name}.wav')),
                    num_frames=num_frames,
                    frame_flags=self.make_flags(num_frames, labeled),
                    subset='ms3',
                    category=None,
                    label_format='binary',
                    _problems=self.extra_files(name, frame_dir, frame_names, num_frames, 'frame') +
                    self.extra_files(name, mask_dir, mask_names, num_frames)))
        return clips
