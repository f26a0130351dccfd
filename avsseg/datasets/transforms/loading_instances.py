"""Reads the cached potential instance sets of a frozen stage 1 (seed 001 / BAVS two-stage hand-off, optional)."""
import json
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
from mmcv.transforms import BaseTransform

from avsseg.registry import TRANSFORMS

#: Name of the cache's description file, written by tools/analysis_tools/cache_stage1.py.
CACHE_META = 'cache_meta.json'


def cache_frame_path(cache_root: str, clip_id: str, frame_idx: int) -> str:
    """``{cache_root}/{clip_id}_{frame_idx}.npz``."""
    return osp.join(cache_root, f'{clip_id}_{frame_idx}.npz')


def read_cache_meta(cache_root: str) -> dict:
    path = osp.join(cache_root, CACHE_META)
    if not osp.isfile(path):
        raise FileNotFoundError(f'LoadClipInstanceSet: {path} does not exist; write the cache with '
                                'tools/analysis_tools/cache_stage1.py CONFIG STAGE1_CKPT --out CACHE_ROOT')
    with open(path) as f:
        return json.load(f)


@TRANSFORMS.register_module()
class LoadClipInstanceSet(BaseTransform):
    """Potential instance sets of every frame from a stage-1 cache -> ``results['instance_sets']``.

    The cache (``tools/analysis_tools/cache_stage1.py``) holds one ``{clip_id}_{frame_idx}.npz`` per frame with
    ``labels`` int16 ``[N_p]``, ``scores`` float16 ``[N_p]``, ``cls_probs`` float16 ``[N_p, K + 1]``, ``masks``
    (``np.packbits`` of bool ``[N_p, H, W]``) and ``shape`` ``(N_p, H, W)``, plus ``cache_meta.json`` with the
    stage-1 checkpoint's sha256 and the filter settings. A cache whose checkpoint hash or filter settings differ
    from the ones given here is refused (a changed stage 1 would silently feed stale masks to stage 2).

    Place it after the test-time resize: the masks must have the frames' ``img_shape`` (stage-2 pipelines use no
    geometric augmentation). ``PackAVSInputs`` puts frame ``t``'s set into its data sample as ``proposals``
    (``InstanceData``: ``labels`` long, ``scores``, ``masks`` bool), which ``AVSCSegmentor(instance_source='cache')``
    reads.

    Args:
        cache_root: the cache folder.
        stage1_checkpoint: the stage-1 checkpoint the config expects; its sha256 must equal the cache's.
        instance_filter / iou_thr: the PSOS head's filter settings; must equal the cache's.
    """

    def __init__(self, cache_root: str, stage1_checkpoint: str, instance_filter: str = 'category_score',
                 iou_thr: float = 0.5):
        self.cache_root = cache_root
        self.stage1_checkpoint = stage1_checkpoint
        self.instance_filter = instance_filter
        self.iou_thr = float(iou_thr)
        self._checked = False

    def check_cache(self) -> None:
        """Raises when the cache was made by another checkpoint or with other filter settings."""
        from avsseg.models.segmentors.avsc_segmentor import file_sha256
        meta = read_cache_meta(self.cache_root)
        if not osp.isfile(self.stage1_checkpoint):
            raise FileNotFoundError(f'LoadClipInstanceSet: stage1_checkpoint {self.stage1_checkpoint} does not exist '
                                    '(needed to check the cache)')
        digest = file_sha256(self.stage1_checkpoint)
        if meta.get('stage1_sha256') != digest:
            raise ValueError(f'LoadClipInstanceSet: the cache {self.cache_root} was written from a stage-1 checkpoint '
                             f'with sha256 {meta.get("stage1_sha256")} ({meta.get("stage1_checkpoint")}), but '
                             f'{self.stage1_checkpoint} has {digest}; rewrite the cache with cache_stage1.py')
        expected = dict(instance_filter=self.instance_filter, iou_thr=self.iou_thr)
        cached = {k: meta.get(k) for k in expected}
        if cached != expected:
            raise ValueError(f'LoadClipInstanceSet: the cache {self.cache_root} was written with filter settings '
                             f'{cached}, the config asks for {expected}; rewrite the cache')
        self._checked = True

    def transform(self, results: Dict) -> Dict:
        if not self._checked:
            self.check_cache()
        clip_id = results['clip_id']
        sets: List[Optional[dict]] = []
        for t, img in enumerate(results['imgs']):
            path = cache_frame_path(self.cache_root, clip_id, t)
            if not osp.isfile(path):
                raise FileNotFoundError(f'LoadClipInstanceSet: no cached instance set {path} for frame {t} of clip '
                                        f'{clip_id}; was the cache written for this split?')
            with np.load(path) as data:
                shape = tuple(int(s) for s in data['shape'])
                masks = np.unpackbits(data['masks'], count=int(np.prod(shape))).reshape(shape).astype(bool)
                entry = dict(labels=data['labels'].astype(np.int64), scores=data['scores'].astype(np.float32),
                             masks=masks)
            if tuple(shape[1:]) != tuple(img.shape[:2]):
                raise ValueError(f'LoadClipInstanceSet: {path} holds masks of size {shape[1:]} but the frame is '
                                 f'{tuple(img.shape[:2])}; put LoadClipInstanceSet after the resize to the size the '
                                 'cache was written at, with no geometric augmentation')
            sets.append(entry)
        results['instance_sets'] = sets
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(cache_root={self.cache_root!r}, stage1_checkpoint='
                f'{self.stage1_checkpoint!r}, instance_filter={self.instance_filter!r}, iou_thr={self.iou_thr})')
