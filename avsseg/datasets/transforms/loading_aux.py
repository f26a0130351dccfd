"""Loading one auxiliary image per frame of a clip (priors, depth or flow maps, COMBO's Maskige, ...)."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.fileio import exists, get
from mmengine.logging import print_log

from avsseg.registry import TRANSFORMS
from .aux_images import declare_aux_image_key

COLOR_TYPES = ('color', 'grayscale', 'unchanged')
TEMPLATE_FIELDS = ('frame_dir', 'stem', 'ext', 'root')


@TRANSFORMS.register_module()
class LoadClipAuxImages(BaseTransform):
    """Load the auxiliary image of each frame of a clip from a path template, and declare its key.

    The image of frame ``{frame_dir}/{stem}{ext}`` is read from ``path_template.format(frame_dir=...,
    stem=..., ext=..., root=root)``, e.g. ``'{frame_dir}/{stem}_depth.png'`` (next to the frame) or
    ``'{root}/{stem}.png'``. The key is appended to ``results['aux_image_keys']``, so every clip transform moves
    the images with their frames and :class:`PackAVSInputs` packs them as ``inputs[key]`` (list the key in the
    data preprocessor's ``aux_image_keys`` too).

    Required keys: ``img_paths`` (list of T, ``None`` for padded frames).
    Optional keys: ``imgs`` (if already loaded, each image must have its frame's size).
    Added keys: ``results[key]`` (list of T ``[H, W, C]`` arrays; padded frames: zeros of the clip's size with
    the channels and dtype of the loaded images), ``results[key + '_paths']`` (list of T, ``None`` for padded
    frames), ``aux_image_keys``.

    Args:
        key: name of the images in ``results`` and in the packed inputs (an identifier, not a key the clip
            already uses, e.g. ``'depth'``).
        path_template: see above.
        root: value of ``{root}`` in ``path_template``.
        color_type: ``'color'`` (RGB ``uint8 [H, W, 3]``), ``'grayscale'`` (``uint8 [H, W, 1]``) or
            ``'unchanged'`` (as stored, e.g. a 16-bit depth PNG as ``uint16 [H, W, 1]``).
        imdecode_backend: mmcv decoding backend, ``'cv2'`` or ``'pillow'``.
        missing: ``'error'`` (default) raises ``FileNotFoundError`` naming the file; ``'fill'`` uses an image of
            ``fill_value`` everywhere and logs a warning naming the file.
        fill_value: per-channel value (or one for every channel) of the image that stands in for a missing file.
        resize_to_frame: when an image and the loaded frame differ in size, resize the image to the frame
            (nearest-neighbour) instead of raising. Only correct when both show the same field of view.
        backend_args: mmengine file backend arguments.
    """

    def __init__(self,
                 key: str,
                 path_template: Optional[str] = None,
                 root: Optional[str] = None,
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 missing: str = 'error',
                 fill_value: Union[int, float, Sequence[Union[int, float]]] = 0,
                 resize_to_frame: bool = False,
                 backend_args: Optional[dict] = None):
        name = type(self).__name__
        declare_aux_image_key({}, key, name)  # validates the key
        if color_type not in COLOR_TYPES:
            raise ValueError(f'{name}: color_type must be one of {COLOR_TYPES}, got {color_type!r}')
        if missing not in ('error', 'fill'):
            raise ValueError(f"{name}: missing must be 'error' or 'fill', got {missing!r}")
        if path_template is not None:
            self._check_template(path_template)
        self.key = key
        self.path_template = path_template
        self.root = root
        self.color_type = color_type
        self.imdecode_backend = imdecode_backend
        self.missing = missing
        self.fill_value = fill_value
        self.resize_to_frame = resize_to_frame
        self.backend_args = backend_args.copy() if backend_args else None

    def _check_template(self, template: str) -> None:
        try:
            template.format(**{field: '' for field in TEMPLATE_FIELDS})
        except (KeyError, IndexError) as err:
            raise ValueError(f'{type(self).__name__}: path_template {template!r} uses an unknown field {err}; '
                             f'known: {", ".join(TEMPLATE_FIELDS)}') from None

    # ---------------------------------------------------------------------------------------------- hooks
    def path_of(self, frame_path: str) -> str:
        """Path of the auxiliary image of one frame."""
        if self.path_template is None:
            raise ValueError(f'{type(self).__name__}: give a path_template for the {self.key!r} images')
        frame_dir, name = osp.split(os.fspath(frame_path))
        stem, ext = osp.splitext(name)
        if '{root}' in self.path_template and self.root is None:
            raise ValueError(f'{type(self).__name__}: path_template {self.path_template!r} uses {{root}} but no '
                             'root is given')
        return self.path_template.format(frame_dir=frame_dir, stem=stem, ext=ext, root=self.root)

    def describe(self) -> str:
        """How error messages name one image."""
        return f'auxiliary image {self.key!r}'

    def missing_hint(self) -> str:
        """What to do about a missing file, appended to the error."""
        return 'check path_template/root, or set missing="fill"'

    def fill_image(self, shape: Tuple[int, int], like: Optional[np.ndarray]) -> np.ndarray:
        """The image standing in for a missing file: ``fill_value`` everywhere, with the channels and dtype of
        ``like`` (another image of the clip) when there is one."""
        fill = np.asarray(self.fill_value)
        if fill.ndim == 1:
            channels = len(fill)
        else:
            channels = like.shape[2] if like is not None else (3 if self.color_type == 'color' else 1)
        dtype = like.dtype if like is not None else np.uint8
        return np.broadcast_to(fill.astype(dtype), (*shape, channels)).copy()

    # ---------------------------------------------------------------------------------------------- loading
    def _read(self, path: str, frame_path: str) -> Optional[np.ndarray]:
        name = type(self).__name__
        if not exists(path, backend_args=self.backend_args):
            if self.missing == 'error':
                raise FileNotFoundError(f'{name}: {self.describe()} not found: {path!r} (frame {frame_path!r}). '
                                        f'{self.missing_hint()}')
            print_log(f'{name}: {self.describe()} not found: {path!r}; using an image of {self.fill_value} '
                      'everywhere instead', logger='current', level=30)
            return None
        try:
            img = mmcv.imfrombytes(get(path, backend_args=self.backend_args), flag=self.color_type,
                                   channel_order='rgb', backend=self.imdecode_backend)
        except Exception as err:  # a corrupt file is reported with its name
            raise ValueError(f'{name}: cannot decode {self.describe()} {path!r}: {err}') from err
        if img is None:
            raise ValueError(f'{name}: cannot decode {self.describe()} {path!r}: not a readable image')
        return img[..., None] if img.ndim == 2 else img

    def transform(self, results: Dict) -> Dict:
        name = type(self).__name__
        img_paths = results['img_paths']
        imgs = results.get('imgs')
        if imgs is not None and len(imgs) != len(img_paths):
            raise ValueError(f'{name}: clip {results.get("clip_id")} has {len(img_paths)} frame paths but '
                             f'{len(imgs)} loaded frames')
        paths: List[Optional[str]] = [None if p is None else self.path_of(p) for p in img_paths]
        images: List[Optional[np.ndarray]] = []
        for t, (frame_path, path) in enumerate(zip(img_paths, paths)):
            image = None if path is None else self._read(path, frame_path)
            if image is not None and imgs is not None and image.shape[:2] != imgs[t].shape[:2]:
                if not self.resize_to_frame:
                    raise ValueError(
                        f'{name}: {self.describe()} {path!r} is {image.shape[1]}x{image.shape[0]} but its frame '
                        f'{frame_path!r} is {imgs[t].shape[1]}x{imgs[t].shape[0]} (WxH); regenerate it for these '
                        'frames, or set resize_to_frame=True if both show the same view')
                resized = mmcv.imresize(image, (imgs[t].shape[1], imgs[t].shape[0]), interpolation='nearest')
                image = resized[..., None] if resized.ndim == 2 else resized
            images.append(image)

        shape = self._clip_shape(images, imgs, results)
        like = next((image for image in images if image is not None), None)
        for t, path in enumerate(paths):
            if images[t] is not None:
                continue
            size = imgs[t].shape[:2] if imgs is not None else shape
            filled = self.fill_image(size, like)
            # a padded frame has no image at all, like LoadClipFrames' zeros
            images[t] = np.zeros_like(filled) if path is None else filled
        results[self.key] = images
        results[f'{self.key}_paths'] = paths
        declare_aux_image_key(results, self.key, name)
        return results

    def _clip_shape(self, images, imgs, results) -> Tuple[int, int]:
        if imgs is not None:
            return imgs[0].shape[:2]
        shapes = {image.shape[:2] for image in images if image is not None}
        if len(shapes) > 1:
            raise ValueError(f'{type(self).__name__}: {self.describe()} images of clip {results.get("clip_id")} '
                             f'differ in size: {sorted(shapes)}')
        if shapes:
            return shapes.pop()
        raise ValueError(f'{type(self).__name__}: clip {results.get("clip_id")} has no {self.describe()} to take '
                         f'a size from; load the frames (LoadClipFrames) before {type(self).__name__}')

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(key={self.key!r}, path_template={self.path_template!r}, '
                f'root={self.root!r}, color_type={self.color_type!r}, missing={self.missing!r}, '
                f'resize_to_frame={self.resize_to_frame})')
