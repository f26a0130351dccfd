"""Loading COMBO's precomputed Maskige images for every frame of a clip."""
from typing import Optional

from avsseg.datasets.maskige import LAYOUTS, MASKIGE_SUFFIX, maskige_palette, maskige_path
from avsseg.registry import TRANSFORMS
from .loading_aux import LoadClipAuxImages


@TRANSFORMS.register_module()
class LoadClipMaskige(LoadClipAuxImages):
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

    COMBO's loader of :class:`LoadClipAuxImages`: the images are the auxiliary image key ``'maskige'``, moved
    with the frames by every clip transform and packed as ``inputs['maskige']``.

    Required keys: ``img_paths`` (list of T, ``None`` for padded frames).
    Optional keys: ``imgs`` (if already loaded, each Maskige must have its frame's size).
    Added keys: ``maskige`` (list of T uint8 RGB ``[H, W, 3]``; padded frames: zeros of the clip's size),
    ``maskige_paths`` (list of T, ``None`` for padded frames), ``'maskige'`` in ``aux_image_keys``.

    Args:
        layout: ``'official'``, ``'beside'`` or ``'mirror'``.
        maskige_root: see above.
        frames_root: root of the frame tree for ``layout='mirror'``.
        path_template: see above.
        missing: ``'error'`` (default) raises ``FileNotFoundError`` naming the file; ``'blank'`` uses the Maskige
            of a frame without proposals (every pixel the "unassigned" colour [120, 120, 120]) and logs a
            warning naming the file.
        resize_to_frame: when the Maskige and the loaded frame differ in size, resize the Maskige to the frame
            (nearest-neighbour) instead of raising. Only correct when both cover the same field of view
            (the official AVSS Maskiges are of centre-cropped ``processed_frames`` and do not match the
            original ``frames``).
        backend_args: mmengine file backend arguments.
    """

    KEY = 'maskige'

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
        # palette PNGs decoded by PIL's convert('RGB'); a missing file becomes the Maskige of a frame without
        # proposals (every pixel the "unassigned" colour)
        super().__init__(
            key=self.KEY,
            color_type='color',
            imdecode_backend='pillow',
            missing='error' if missing == 'error' else 'fill',
            fill_value=[int(v) for v in maskige_palette()[0]],
            resize_to_frame=resize_to_frame,
            backend_args=backend_args)
        self.layout = layout
        self.maskige_root = maskige_root
        self.frames_root = frames_root
        self.path_template = path_template
        self.missing_mode = missing

    def path_of(self, frame_path: str) -> str:
        """Maskige path of one frame."""
        return maskige_path(frame_path, layout=self.layout, maskige_root=self.maskige_root,
                            frames_root=self.frames_root, path_template=self.path_template,
                            suffix=MASKIGE_SUFFIX)

    def describe(self) -> str:
        return 'Maskige'

    def missing_hint(self) -> str:
        return ('Generate it with tools/dataset_converters/make_maskige.py or set layout/maskige_root/'
                'path_template (missing="blank" substitutes the Maskige of a frame without proposals)')

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(layout={self.layout!r}, maskige_root={self.maskige_root!r}, '
                f'path_template={self.path_template!r}, missing={self.missing_mode!r}, '
                f'resize_to_frame={self.resize_to_frame})')
