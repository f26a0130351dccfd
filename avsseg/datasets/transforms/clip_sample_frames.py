"""Training on a few random labelled frames of each clip (per-frame models such as PSOS or a frame tagger)."""
from typing import Dict

import numpy as np
from mmcv.transforms import BaseTransform

from avsseg.registry import TRANSFORMS
from .clip_transform_broadcaster import PER_FRAME_KEYS


@TRANSFORMS.register_module()
class ClipSampleFrames(BaseTransform):
    """Keep ``num_frames`` random labelled real frames of a training clip.

    Models whose loss treats frames independently (PSOS stage 1, the tiny stand-in tagger) gain nothing from the
    ten frames of an AVSS clip but their cost; sampling two per clip lets a CPU batch span more clips. Frames are
    drawn without replacement from those with ``is_labeled`` and without ``is_padded`` and kept in time order; a
    clip with fewer such frames (AVSS v1s trains on its first frame only) repeats them, drawn with replacement
    after each was taken once, since every clip of a batch must have the same length.
    Every per-frame key is sliced as :class:`ClipSelectLabelledFrames` does (``imgs``, ``gt_seg_maps``, the paths,
    ``silent_labels``, auxiliary images, ``audio`` ``[T, ...]``, ``frame_flags``) and ``num_frames`` is set. A
    clip without such a frame is an error naming it.

    Args:
        num_frames: frames to keep per clip.
    """

    def __init__(self, num_frames: int = 2):
        if int(num_frames) < 1:
            raise ValueError(f'ClipSampleFrames: num_frames must be >= 1, got {num_frames}')
        self.num_frames = int(num_frames)

    def transform(self, results: Dict) -> Dict:
        clip_id = results.get('clip_id')
        flags = results.get('frame_flags')
        if flags is None or 'is_labeled' not in flags:
            raise KeyError(f'ClipSampleFrames: clip {clip_id} has no frame_flags.is_labeled')
        total = len(flags['is_labeled'])
        padded = flags.get('is_padded', [False] * total)
        candidates = [t for t in range(total) if flags['is_labeled'][t] and not padded[t]]
        if not candidates:
            raise ValueError(f'ClipSampleFrames: clip {clip_id} has no labelled real frame')
        count = self.num_frames
        if len(candidates) >= count:
            keep = np.random.choice(candidates, size=count, replace=False).tolist()
        else:
            keep = candidates + np.random.choice(candidates, size=count - len(candidates)).tolist()
        keep = sorted(keep)
        aux = list(results.get('aux_image_keys', ()))
        for key in (*PER_FRAME_KEYS, *aux, *(f'{k}_paths' for k in aux)):
            if results.get(key) is not None:
                if len(results[key]) != total:
                    raise ValueError(f'ClipSampleFrames: clip {clip_id}: {key} has {len(results[key])} entries for '
                                     f'{total} frames')
                results[key] = [results[key][t] for t in keep]
        if results.get('audio') is not None:
            results['audio'] = results['audio'][keep]
        results['frame_flags'] = {name: [values[t] for t in keep] for name, values in flags.items()}
        results['num_frames'] = count
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_frames={self.num_frames})'
