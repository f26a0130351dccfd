"""Drawing of segmentation masks over a video frame, usable without a runner (demos, notebooks, the visualizer).

``draw_frame`` paints one frame: its ground truth and/or prediction as translucent class colours, each class
region outlined by a two-tone contour (a line in the class colour along the inside of the region's border and a
line in the contrasting colour, black or white, along its outside, so a white object on a white frame, or a black
one on a black frame, stays visible), each panel captioned ("ground truth" / "prediction") and, for semantic
predictions, each region named after its class.
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np

GT_TITLE = 'ground truth'
PRED_TITLE = 'prediction'
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_STRIP_COLOUR = (32, 32, 32)
_TEXT_COLOUR = (255, 255, 255)


def resize_labels(labels: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a label map (mmcv's ``imresize``; cv2 only resizes 8/16/32-bit maps).

    Args:
        labels: int ``[H, W]`` class indices (any value ``< 2**31``).
        shape: ``(height, width)`` of the result.

    Returns:
        int64 ``[height, width]``.
    """
    if labels.shape == tuple(shape):
        return labels.astype(np.int64)
    work_dtype = np.uint8 if labels.min() >= 0 and labels.max() < 256 else np.int32
    return mmcv.imresize(labels.astype(work_dtype), (shape[1], shape[0]), interpolation='nearest').astype(np.int64)


def check_palette(palette, classes: Optional[Sequence[str]] = None, where: str = 'palette') -> np.ndarray:
    """Validate a palette (and its class names) and return it as uint8 ``[C, 3]``.

    Args:
        palette: ``[[r, g, b], ...]`` with values in 0..255.
        classes: optional class names, one per palette entry.
        where: what to name in error messages.
    """
    array = np.asarray(palette)
    if array.ndim != 2 or array.shape[1] != 3 or len(array) == 0:
        raise ValueError(f'{where}: palette must be a non-empty list of [r, g, b], got shape {array.shape}')
    if not np.issubdtype(array.dtype, np.number) or array.min() < 0 or array.max() > 255:
        raise ValueError(f'{where}: palette colours must be numbers in 0..255')
    if classes is not None and len(classes) != len(array):
        raise ValueError(f'{where}: {len(classes)} classes but {len(array)} palette colours')
    return array.astype(np.uint8)


def check_draw_options(alpha: float, contour_thickness: Optional[int], max_size: Optional[int],
                       where: str = 'draw_frame') -> None:
    """Raise a ValueError naming ``where`` for an ``alpha`` outside [0, 1] or a non-positive size."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'{where}: alpha must be in [0, 1], got {alpha}')
    if contour_thickness is not None and contour_thickness < 1:
        raise ValueError(f'{where}: contour_thickness must be >= 1, got {contour_thickness}')
    if max_size is not None and max_size < 1:
        raise ValueError(f'{where}: max_size must be >= 1, got {max_size}')


def _contrast(colour: Sequence[int]) -> Tuple[int, int, int]:
    # black on light colours, white on dark ones (ITU-R 601 luma)
    luma = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
    return (0, 0, 0) if luma > 127 else (255, 255, 255)


def _font(panel_shape: Tuple[int, int]) -> Tuple[float, int]:
    """Font scale and thickness for captions and class names of panels of ``(H, W)``."""
    height, width = panel_shape
    scale = float(np.clip(min(height, width) / 400, 0.35, 1.2))
    # the longest caption must fit in the panel width (tiny panels get tiny, clipped text rather than none)
    (text_w, _), _ = cv2.getTextSize(GT_TITLE, _FONT, 1.0, 1)
    scale = max(min(scale, 0.95 * width / text_w), 0.2)
    return scale, 1 if scale < 0.8 else 2


def _caption(panel: np.ndarray, title: str, scale: float, thickness: int) -> np.ndarray:
    """``panel`` under a dark strip carrying ``title``."""
    (text_w, _), _ = cv2.getTextSize(title, _FONT, scale, thickness)
    # the strip's height from a fixed reference, so that every panel of a frame gets the same
    (_, text_h), baseline = cv2.getTextSize('Hg', _FONT, scale, thickness)
    pad = max(2, text_h // 3)
    strip = np.empty((text_h + baseline + 2 * pad, panel.shape[1], 3), np.uint8)
    strip[:] = _STRIP_COLOUR
    cv2.putText(strip, title, (max(0, (panel.shape[1] - text_w) // 2), pad + text_h), _FONT, scale, _TEXT_COLOUR,
                thickness, cv2.LINE_AA)
    return np.concatenate([strip, panel], axis=0)


def _name_region(canvas: np.ndarray, region: np.ndarray, name: str, colour: Tuple[int, int, int], scale: float,
                 thickness: int) -> None:
    """Write ``name`` on a box in ``colour`` at the point of ``region`` farthest from its border."""
    # a zero border makes the frame edge count as region border
    dist = cv2.distanceTransform(np.pad(region.astype(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    (text_w, text_h), baseline = cv2.getTextSize(name, _FONT, scale, thickness)
    height, width = region.shape
    left = int(np.clip(x - text_w // 2, 0, max(0, width - text_w - 2)))
    top = int(np.clip(y - (text_h + baseline) // 2, 0, max(0, height - text_h - baseline - 2)))
    ink = _contrast(colour)
    cv2.rectangle(canvas, (left, top), (left + text_w + 1, top + text_h + baseline + 1), colour, -1)
    cv2.rectangle(canvas, (left, top), (left + text_w + 1, top + text_h + baseline + 1), ink, 1)
    cv2.putText(canvas, name, (left + 1, top + text_h), _FONT, scale, ink, thickness, cv2.LINE_AA)


def _paint(image: np.ndarray, seg: np.ndarray, palette: np.ndarray, classes: Optional[Sequence[str]], alpha: float,
           background_index: Optional[int], contour_thickness: int, name_classes: bool, scale: float,
           thickness: int) -> np.ndarray:
    """One panel: class colours blended into ``image``, outlined, optionally named."""
    ids = [int(c) for c in np.unique(seg) if 0 <= c < len(palette) and c != background_index]
    canvas = image.astype(np.float32)
    regions = [(c, seg == c) for c in ids]
    for c, region in regions:
        canvas[region] = canvas[region] * (1 - alpha) + palette[c].astype(np.float32) * alpha
    canvas = np.ascontiguousarray(np.clip(np.round(canvas), 0, 255).astype(np.uint8))
    kernel = np.ones((3, 3), np.uint8)
    # outer lines first: where two classes touch, both inner lines stay visible side by side
    for c, region in regions:
        grown = cv2.dilate(region.astype(np.uint8), kernel, iterations=contour_thickness).astype(bool)
        canvas[grown & ~region] = _contrast(palette[c])
    for c, region in regions:
        # cv2.erode counts the outside of the frame as region: no line along the frame edge
        shrunk = cv2.erode(region.astype(np.uint8), kernel, iterations=contour_thickness).astype(bool)
        canvas[region & ~shrunk] = palette[c]
    if name_classes:
        for c, region in regions:
            _name_region(canvas, region, str(classes[c]), tuple(int(v) for v in palette[c]), scale, thickness)
    return canvas


def draw_frame(image: np.ndarray,
               pred: Optional[np.ndarray] = None,
               gt: Optional[np.ndarray] = None,
               *,
               palette: Sequence[Sequence[int]],
               classes: Optional[Sequence[str]] = None,
               alpha: float = 0.5,
               background_index: Optional[int] = 0,
               contour_thickness: Optional[int] = None,
               with_labels: bool = True,
               max_size: Optional[int] = None) -> np.ndarray:
    """Draw the ground truth and/or prediction of one frame over it: ``ground truth | prediction`` side by side.

    Pixels of class ``c < len(palette)`` other than ``background_index`` are blended with ``palette[c]`` and every
    such class region is outlined; other values (e.g. 255 = ignore) are left as they are.

    Args:
        image: uint8 RGB ``[H, W, 3]``.
        pred: int ``[H, W]`` predicted class indices (binary models: 0/1). None draws the ground truth alone.
        gt: int ``[H, W]`` ground-truth class indices, already aligned with ``image``. None draws the prediction
            alone.
        palette: ``[[r, g, b], ...]``, the colour of each class.
        classes: class names, one per palette entry. With ``with_labels`` and more than two classes (a semantic
            model), each region is named after its class.
        alpha: weight of the class colour in the blend, in [0, 1]. Defaults to 0.5.
        background_index: class left undrawn (AVSBench: 0 = background); None draws every class.
        contour_thickness: width in pixels of each of the two contour lines (class colour inside the region's
            border, contrasting colour outside). Defaults to None: 1 pixel per 200 pixels of the shorter side, at
            least 1.
        with_labels: caption each panel ("ground truth" / "prediction") on a strip above it, and name the
            regions of semantic predictions. Defaults to True.
        max_size: downscale so that the longer side of each panel is at most this many pixels. Defaults to None
            (drawn at the masks' size).

    Returns:
        uint8 RGB ``[H' + strip, W' or 2 * W', 3]``: ``H', W'`` are ``H, W`` after ``max_size``; the caption strip
        only with ``with_labels``; two panels when both ``gt`` and ``pred`` are given.
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'draw_frame: image must be a uint8 RGB array [H, W, 3], got '
                         f'{getattr(image, "dtype", type(image))} {getattr(image, "shape", "")}')
    check_draw_options(alpha, contour_thickness, max_size)
    palette = check_palette(palette, classes, where='draw_frame')
    panels: List[Tuple[str, np.ndarray]] = []
    for title, seg in ((GT_TITLE, gt), (PRED_TITLE, pred)):
        if seg is None:
            continue
        seg = np.asarray(seg)
        if seg.shape != image.shape[:2] or not np.issubdtype(seg.dtype, np.integer):
            raise ValueError(f'draw_frame: the {title} must be an integer [H, W] map of the frame size '
                             f'{image.shape[:2]}, got {seg.dtype} {seg.shape}')
        panels.append((title, seg))
    if not panels:
        raise ValueError('draw_frame: nothing to draw (neither pred nor gt given)')

    height, width = image.shape[:2]
    if max_size is not None and max(height, width) > max_size:
        factor = max_size / max(height, width)
        height, width = max(1, round(height * factor)), max(1, round(width * factor))
        image = mmcv.imresize(image, (width, height), interpolation='area')
        panels = [(title, resize_labels(seg, (height, width))) for title, seg in panels]
    if contour_thickness is None:
        contour_thickness = max(1, min(height, width) // 200)
    scale, thickness = _font((height, width))
    name_classes = with_labels and classes is not None and len(palette) > 2
    drawn = []
    for title, seg in panels:
        panel = _paint(image, seg, palette, classes, alpha, background_index, contour_thickness, name_classes, scale,
                       thickness)
        drawn.append(_caption(panel, title, scale, thickness) if with_labels else panel)
    return np.concatenate(drawn, axis=1)
