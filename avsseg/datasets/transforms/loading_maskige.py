"""Loading COMBO's precomputed Maskige images for every frame of a clip."""
import io
from typing import Dict, List, Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.fileio import exists, get
from mmengine.logging import print_log
from PIL import Image

from avsseg.datasets.maskige import LAYOUTS, MASKIGE_SUFFIX, maskige_palette, maskige_path
from avsseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadClipMaskige(BaseTransform):
    """Load the Maskige (``{frame}_mask_color.png``) of each frame of a clip.

    The Maskige path of each frame is derived from its frame path with
    :func:`avsseg.datasets.maskige.maskige_path`. With the default ``layout='official'`` these are the official
    COMBO trees, so the released Maskiges (or those written by ``tools/dataset_converters/make_maskige.py``)
    are read where they are:

    - S4: ``.../s4_data/pre_SAM_mask/{split}/{category}/{video}/{frame}_mask_color.png``
    - MS3: ``.../ms3_data/pre_SAM_mask/{video}/{frame}_mask_color.png``
    - AVSS: ``{root}/pre_SAM_mask/AVSBench_semantic/{v1s|v1m|v2}/{uid}/{frames dir}/{frame}_mask_color.png``

    ``maskige_root`` re-roots those trees (it replaces ``.../pre_SAM_mask`` for S4/MS3 and
    ``.../pre_SAM_mask/AVSBench_semantic`` for AVSS); ``layout='beside'`` reads ``{frame_dir}/{frame}
    _mask_color.png``; ``layout='mirror'`` mirrors ``frames_root`` under ``maskige_root``; ``path_template``
    (fields ``frame_dir, stem, ext, suffix, maskige_root``) overrides all of them.

    Required keys: ``img_paths`` (list of T, ``None`` for padded frames).
    Optional keys: ``imgs`` (if already loaded, each Maskige must have its frame's size).
    Added keys: ``maskiges`` (list of T uint8 RGB ``[H, W, 3]``; padded frames: zeros of the clip's size),
    ``maskige_paths`` (list of T, ``None`` for padded frames).

    Args:
        layout: ``'official'``, ``'beside'`` or ``'mirror'``.
        maskige_root: see above.
        frames_root: root of the frame tree for ``layout='mirror'``.
        path_template: see above.
        missing: ``'error'`` (default) raises ``FileNotFoundError`` naming the file; ``'blank'`` uses the Maskige
            of a frame without proposals (every pixel the "unassigned" colour [120, 120, 120]) and logs a
            warning naming the file.
        resize_to_frame: when the Maskige and the loaded frame differ in size, resize the Maskige to the frame
            with nearest-neighbour instead of raising. Only correct when both cover the same field of view
            (the official AVSS Maskiges are of centre-cropped ``processed_frames`` and do not match the
            original ``frames``).
        backend_args: mmengine file backend arguments.
    """

    def __init__(self,
                 layout: str = 'official',
                 maskige_root: Optional[str] = None,
                 frames_root: Optional[str] = None,
                 path_template: Optional[str] = None,
                 missing: str = 'error',
                 resize_to_frame: bool = False,
                 backend_args: Optional[dict] = None):
        if layout not in LAYOUTS:
            raise ValueError(f'LoadClipMaskige: layout must be one of {LAYOUTS}, got {layout!r}')
        if missing not in ('error', 'blank'):
            raise ValueError(f"LoadClipMaskige: missing must be 'error' or 'blank', got {missing!r}")
        if layout == 'mirror' and path_template is None and (maskige_root is None or frames_root is None):
            raise ValueError("LoadClipMaskige: layout='mirror' needs maskige_root and frames_root")
        self.layout = layout
        self.maskige_root = maskige_root
        self.frames_root = frames_root
        self.path_template = path_template
        self.missing = missing
        self.resize_to_frame = resize_to_frame
        self.backend_args = backend_args.copy() if backend_args else None

    def path_of(self, frame_path: str) -> str:
        """Maskige path of one frame."""
        return maskige_path(frame_path, layout=self.layout, maskige_root=self.maskige_root,
                            frames_root=self.frames_root, path_template=self.path_template,
                            suffix=MASKIGE_SUFFIX)

    def _read(self, path: str, frame_path: str) -> Optional[np.ndarray]:
        if not exists(path, backend_args=self.backend_args):
            if self.missing == 'error':
                raise FileNotFoundError(
                    f'LoadClipMaskige: Maskige not found: {path!r} (frame {frame_path!r}). Generate it with '
                    'tools/dataset_converters/make_maskige.py or set layout/maskige_root/path_template')
            print_log(f'LoadClipMaskige: Maskige not found: {path!r}; using a blank Maskige (missing="blank")',
                      logger='current', level=30)
            return None
        try:
            with Image.open(io.BytesIO(get(path, backend_args=self.backend_args))) as img:
                return np.asarray(img.convert('RGB'), dtype=np.uint8).copy()
        except Exception as err:  # a corrupt file is reported with its name
            raise ValueError(f'LoadClipMaskige: cannot decode Maskige {path!r}: {err}') from err

    def transform(self, results: Dict) -> Dict:
        img_paths = results['img_paths']
        imgs = results.get('imgs')
        if imgs is not None and len(imgs) != len(img_paths):
            raise ValueError(f'LoadClipMaskige: clip {results.get("clip_id")} has {len(img_paths)} frame paths '
                             f'but {len(imgs)} loaded frames')
        paths: List[Optional[str]] = [None if p is None else self.path_of(p) for p in img_paths]
        maskiges: List[Optional[np.ndarray]] = []
        for t, (frame_path, path) in enumerate(zip(img_paths, paths)):
            maskige = None if path is None else self._read(path, frame_path)
            if maskige is not None and imgs is not None and maskige.shape[:2] != imgs[t].shape[:2]:
                if not self.resize_to_frame:
                    raise ValueError(
                        f'LoadClipMaskige: Maskige {path!r} is {maskige.shape[1]}x{maskige.shape[0]} but its '
                        f'frame {frame_path!r} is {imgs[t].shape[1]}x{imgs[t].shape[0]} (WxH); regenerate the '
                        'Maskiges for these frames, or set resize_to_frame=True if both show the same view')
                maskige = np.asarray(Image.fromarray(maskige).resize(
                    (imgs[t].shape[1], imgs[t].shape[0]), Image.NEAREST))
            maskiges.append(maskige)

        shape = self._clip_shape(maskiges, imgs, results)
        blank = maskige_palette()[0]
        for t, path in enumerate(paths):
            if maskiges[t] is not None:
                continue
            size = imgs[t].shape[:2] if imgs is not None else shape
            if path is None:  # padded frame: no image, like LoadClipFrames' zeros
                maskiges[t] = np.zeros((*size, 3), dtype=np.uint8)
            else:  # missing='blank': a frame without any proposal
                maskiges[t] = np.broadcast_to(blank, (*size, 3)).copy()
        results['maskiges'] = maskiges
        results['maskige_paths'] = paths
        return results

    @staticmethod
    def _clip_shape(maskiges, imgs, results):
        if imgs is not None:
            return imgs[0].shape[:2]
        shapes = {m.shape[:2] for m in maskiges if m is not None}
        if len(shapes) > 1:
            raise ValueError(f'LoadClipMaskige: Maskiges of clip {results.get("clip_id")} differ in size: '
                             f'{sorted(shapes)}')
        if shapes:
            return shapes.pop()
        raise ValueError(f'LoadClipMaskige: clip {results.get("clip_id")} has no Maskige to take a size from; '
                         'load the frames (LoadClipFrames) before LoadClipMaskige')

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(layout={self.layout!r}, maskige_root={self.maskige_root!r}, '
                f'path_template={self.path_template!r}, missing={self.missing!r}, '
                f'resize_to_frame={self.resize_to_frame})')
