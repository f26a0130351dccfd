"""AVSBench MS3 with class-index masks (from the AVSS v1m labels) for the two-stage methods' stage 1."""
import os.path as osp
from typing import List

from avsseg.registry import DATASETS
from .avsbench_ms3_dataset import AVSBenchMS3Dataset


@DATASETS.register_module()
class AVSBenchMS3ClassIndexDataset(AVSBenchMS3Dataset):
    """:class:`AVSBenchMS3Dataset` whose masks are the class-index PNGs of ``mask_dir``.

    ``tools/dataset_converters/avss_labels_to_avsbench.py`` writes them from the AVSBench-semantic ``v1m`` labels
    of the same videos (seed001.md §4 A1, recommendation: the MS3 release has no categories)::

        ms3_data/gt_masks_semantic/{split}/{name}/{name}_{i}.png     AVSS class index (0 background), 255 ignored

    Everything else (frames, audio, the 5 labelled frames, the checks) is the MS3 reader's. Masks are decoded as
    ``'index'`` PNGs with values below ``num_classes`` (AVSS: 71 with background) or 255.

    Args:
        mask_dir: folder under ``ms3_data`` holding the class-index masks.
        num_classes: classes of the index PNGs including background (AVSS: 71).
        **kwargs: see :class:`AVSBenchMS3Dataset`.
    """

    def __init__(self, *args, mask_dir: str = 'gt_masks_semantic', num_classes: int = 71, **kwargs):
        self.mask_dir = mask_dir
        self.num_classes = int(num_classes)
        super().__init__(*args, **kwargs)

    def parse_clips(self) -> List[dict]:
        clips = super().parse_clips()
        binary_dir = self._path('ms3_data', 'gt_masks', self.split)
        class_dir = self._path('ms3_data', self.mask_dir, self.split)
        for clip in clips:
            clip['seg_map_paths'] = [
                None if p is None else osp.join(class_dir, osp.relpath(p, binary_dir)) for p in clip['seg_map_paths']
            ]
            clip['label_format'] = 'index'
            clip['num_classes'] = self.num_classes
        return clips
