"""COMBO's Maskige: class-agnostic mask proposals painted as an RGB image (COMBO, CVPR'24, Sec. 3.2).

A frame's proposals ``c`` (bool ``[K, H, W]``, from SAM / Semantic-SAM ...) become an image ``m = X(c)`` with a
fixed colour matrix ``A`` (the paper's ``X(c) = cA``). The encoding follows the official
``avs_tools/pre_mask2rgb/mask_precess_*.py``:

1. proposals are sorted by area, smallest first;
2. each pixel gets the rank (1-based) of the *smallest* proposal covering it; pixels that no proposal covers
   get 0 (so a small object painted over a large background region keeps its own colour);
3. the rank map (uint8) is optionally resized with nearest-neighbour (the official S4 script resizes to
   224 x 224);
4. ranks are coloured with the 150-colour ADE20K palette (``A``); rank 0 is ADE's first colour
   ``[120, 120, 120]``.

The result is written as a palette PNG ``{frame}_mask_color.png`` and the raw proposals as ``{frame}_mask.npy``.

Choices where the official code is undefined (documented, not silent):

- ties in area keep the proposals' input order (stable sort; the official ``np.argsort`` is not stable);
- ranks 150..255 (more than 149 proposals) have no ADE colour; the official PNG carries a 150-entry palette,
  so readers return arbitrary colours there. Here the palette is extended to 256 entries by cycling through
  ADE colours 1..149 (never the "unassigned" grey);
- more than 255 proposals do not fit a uint8 rank map (the official cast wraps 256 to 0). ``overflow='error'``
  raises, ``overflow='clip'`` gives every proposal beyond the 255th smallest rank 255.

Paths. The official Maskige trees mirror the frame trees (``register_avs{s4,ms3,s}_sem.py``)::

    S4   .../s4_data/visual_frames/{split}/{category}/{video}/{frame}.png
      -> .../s4_data/pre_SAM_mask/{split}/{category}/{video}/{frame}_mask_color.png
    MS3  .../ms3_data/visual_frames/{video}/{frame}.png
      -> .../ms3_data/pre_SAM_mask/{video}/{frame}_mask_color.png
    AVSS {root}/{v1s|v1m|v2}/{uid}/{frames|processed_frames}/{frame}.jpg
      -> {root}/pre_SAM_mask/AVSBench_semantic/{v1s|v1m|v2}/{uid}/{frames|processed_frames}/{frame}_mask_color.png

The official AVSS model reads ``processed_frames`` (frames resized / centre-cropped to 224 offline), so the
released AVSS Maskiges match those frames, not the original ``frames``. :func:`maskige_path` derives these
paths; ``layout='beside'`` puts the files next to the frames, ``layout='mirror'`` mirrors any frame folder
under another root, and ``path_template`` covers anything else.
"""
import os
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image

#: File-name suffixes of the official tools.
MASKIGE_SUFFIX = '_mask_color.png'
PROPOSALS_SUFFIX = '_mask.npy'
#: AVSBench-semantic set folders (``v1s`` = S4 videos, ``v1m`` = MS3 videos, ``v2`` = new 10 s videos).
AVSS_SETS = ('v1s', 'v1m', 'v2')
#: Largest rank a uint8 map can hold.
MAX_RANK = 255

_PALETTE_CACHE = {}


def ade_palette() -> np.ndarray:
    """The 150-colour ADE20K palette, uint8 ``[150, 3]`` (COMBO's colour matrix ``A``; row 0 = [120, 120, 120]).

    Taken from mmseg's ``ADE20KDataset.METAINFO['palette']``, which holds the same values as the official
    ``ade_palette()`` of the COMBO tools.
    """
    if 'ade' not in _PALETTE_CACHE:
        from mmseg.datasets import ADE20KDataset
        palette = np.asarray(ADE20KDataset.METAINFO['palette'], dtype=np.uint8)
        if palette.shape != (150, 3):
            raise RuntimeError(f'mmseg ADE20K palette has shape {palette.shape}, expected (150, 3)')
        _PALETTE_CACHE['ade'] = palette
    return _PALETTE_CACHE['ade'].copy()


def maskige_palette() -> np.ndarray:
    """uint8 ``[256, 3]``: the ADE palette for ranks 0..149, then ADE colours 1..149 cycled for 150..255."""
    ade = ade_palette()
    extra = np.arange(256 - len(ade)) % (len(ade) - 1) + 1
    return np.concatenate([ade, ade[extra]], axis=0)


def _as_size(out_size: Union[int, Sequence[int], None]) -> Optional[Tuple[int, int]]:
    if out_size is None:
        return None
    if isinstance(out_size, int):
        out_size = (out_size, out_size)
    if len(out_size) != 2 or any(int(s) <= 0 for s in out_size):
        raise ValueError(f'out_size must be a positive int or (height, width), got {out_size!r}')
    return int(out_size[0]), int(out_size[1])


def check_proposals(masks, name: str = 'masks') -> np.ndarray:
    """Validates proposals and returns them as bool ``[K, H, W]``.

    Accepts bool or numeric arrays (non-zero = inside; the official ``.npy`` files are bool, or float zeros
    ``[1, H, W]`` when a frame has no proposal) and a single ``[H, W]`` mask. ``K = 0`` is allowed.

    Raises:
        ValueError: wrong number of dimensions, object dtype, or non-finite values.
    """
    masks = np.asarray(masks)
    if masks.dtype == object:
        raise ValueError(f'{name}: expected a numeric/bool array [K, H, W], got an object array')
    if masks.ndim == 2:
        masks = masks[None]
    if masks.ndim != 3 or masks.shape[1] == 0 or masks.shape[2] == 0:
        raise ValueError(f'{name}: expected proposals [K, H, W], got shape {list(masks.shape)}')
    if masks.dtype != np.bool_:
        if np.issubdtype(masks.dtype, np.floating) and not np.isfinite(masks).all():
            raise ValueError(f'{name}: proposals contain NaN/inf')
        masks = masks != 0
    return masks


def masks_to_index_map(masks, out_size: Union[int, Sequence[int], None] = None,
                       overflow: str = 'error') -> np.ndarray:
    """Proposals -> uint8 rank map ``[H, W]`` (0 = unassigned, k = k-th smallest proposal).

    Args:
        masks: bool (or 0/non-zero) ``[K, H, W]`` proposals; ``K`` may be 0.
        out_size: ``None`` keeps ``H, W``; an int or ``(height, width)`` resizes with nearest-neighbour (PIL,
            as the official script).
        overflow: ``'error'`` raises when ``K > 255``; ``'clip'`` gives proposals beyond the 255th rank 255.

    Returns:
        np.ndarray: uint8 ``[H', W']``.
    """
    if overflow not in ('error', 'clip'):
        raise ValueError(f"overflow must be 'error' or 'clip', got {overflow!r}")
    masks = check_proposals(masks)
    num, height, width = masks.shape
    if num > MAX_RANK and overflow == 'error':
        raise ValueError(f'{num} proposals do not fit a uint8 Maskige (at most {MAX_RANK}); filter the '
                         "proposals or use overflow='clip'")
    areas = masks.reshape(num, height * width).sum(axis=1)
    order = np.argsort(areas, kind='stable')
    index = np.zeros((height, width), dtype=np.uint8)
    for rank, k in enumerate(order, start=1):
        # Smaller proposals were painted first and keep their pixels.
        index[(index == 0) & masks[k]] = min(rank, MAX_RANK)
    size = _as_size(out_size)
    if size is not None and size != (height, width):
        index = np.asarray(Image.fromarray(index).resize((size[1], size[0]), Image.NEAREST))
    return index


def colorize_index_map(index: np.ndarray) -> np.ndarray:
    """uint8 rank map ``[H, W]`` -> uint8 RGB ``[H, W, 3]`` with :func:`maskige_palette`."""
    index = np.asarray(index)
    if index.ndim != 2 or index.dtype != np.uint8:
        raise ValueError(f'expected a uint8 rank map [H, W], got {index.dtype} {list(index.shape)}')
    return maskige_palette()[index]


def masks_to_maskige(masks, out_size: Union[int, Sequence[int], None] = None,
                     overflow: str = 'error') -> np.ndarray:
    """Proposals bool ``[K, H, W]`` -> Maskige uint8 RGB ``[H', W', 3]`` (official colour encoding).

    See :func:`masks_to_index_map` for the arguments.
    """
    return colorize_index_map(masks_to_index_map(masks, out_size, overflow))


def save_maskige(index: np.ndarray, path: str) -> None:
    """Writes a rank map as a palette PNG (what the official tools write; reads back as RGB with
    ``Image.open(path).convert('RGB')``). Written to a temporary name first so an interrupted run never
    leaves a truncated PNG under the final name."""
    index = np.asarray(index)
    if index.ndim != 2 or index.dtype != np.uint8:
        raise ValueError(f'expected a uint8 rank map [H, W], got {index.dtype} {list(index.shape)}')
    img = Image.fromarray(index)  # mode 'L'; putpalette turns it into a palette ('P') image
    img.putpalette(maskige_palette().reshape(-1).tolist())
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}.png'
    img.save(tmp, format='PNG')
    os.replace(tmp, path)


def save_proposals(masks: np.ndarray, path: str) -> None:
    """Writes proposals as a bool ``[K, H, W]`` ``.npy`` (atomically, like :func:`save_maskige`)."""
    masks = check_proposals(masks, path)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}.npy'
    np.save(tmp, masks, allow_pickle=False)
    os.replace(tmp, path)


def load_proposals(path: str) -> np.ndarray:
    """Reads a ``{frame}_mask.npy`` (no pickle) and returns bool ``[K, H, W]``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a valid proposal array (names the file).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'proposal file not found: {path!r}')
    try:
        masks = np.load(path, allow_pickle=False)
    except Exception as err:  # a corrupt or pickled file is reported with its name
        raise ValueError(f'cannot read proposals {path!r} (expected a numeric .npy [K, H, W]): {err}') from err
    return check_proposals(masks, path)


def read_maskige(path: str) -> np.ndarray:
    """Reads a Maskige PNG (palette or RGB) as uint8 RGB ``[H, W, 3]``."""
    with Image.open(path) as img:
        return np.asarray(img.convert('RGB'), dtype=np.uint8).copy()


# ----------------------------------------------------------------------------------------------- paths
LAYOUTS = ('official', 'beside', 'mirror')


def _split_parts(path: str):
    norm = osp.normpath(path)
    return norm.split(os.sep)


def _join_prefix(parts) -> str:
    # parts of a split path; an absolute path starts with '' (the root)
    if not parts:
        return os.curdir
    return os.sep.join(parts) or os.sep


def official_layout(frame_path: str) -> Optional[str]:
    """``'s4_ms3'`` or ``'avss'`` when ``frame_path`` lies in an official AVSBench frame tree, else ``None``."""
    parts = _split_parts(frame_path)
    if 'visual_frames' in parts[:-1]:
        return 's4_ms3'
    if len(parts) >= 4 and parts[-4] in AVSS_SETS:
        return 'avss'
    return None


def maskige_path(frame_path: str,
                 layout: str = 'official',
                 maskige_root: Optional[str] = None,
                 frames_root: Optional[str] = None,
                 path_template: Optional[str] = None,
                 suffix: str = MASKIGE_SUFFIX) -> str:
    """Where the Maskige (or, with ``suffix=PROPOSALS_SUFFIX``, the proposals) of a frame lives.

    Args:
        frame_path: path of the frame image.
        layout: ``'official'``: the official trees (see the module docstring); S4/MS3 are recognised by the
            ``visual_frames`` folder, AVSS by ``{v1s|v1m|v2}/{uid}/{frames dir}/{frame}``. With
            ``maskige_root`` the part of the official tree below ``pre_SAM_mask`` (S4/MS3) or
            ``pre_SAM_mask/AVSBench_semantic`` (AVSS) is taken from ``maskige_root`` instead.
            ``'beside'``: ``{frame_dir}/{stem}{suffix}``. ``'mirror'``: ``{maskige_root}/{frame_dir relative to
            frames_root}/{stem}{suffix}``.
        maskige_root: see ``layout``.
        frames_root: root of the frame tree (``'mirror'`` only).
        path_template: overrides ``layout``: ``str.format`` template with the fields ``frame_dir``, ``stem``
            (file name without extension), ``ext``, ``suffix``, ``maskige_root``, e.g.
            ``'{maskige_root}/{stem}{suffix}'``.
        suffix: ``'_mask_color.png'`` (Maskige) or ``'_mask.npy'`` (proposals).

    Raises:
        ValueError: the frame is not in an official tree (``'official'``), or missing/unknown arguments.
    """
    frame_path = os.fspath(frame_path)
    frame_dir, name = osp.split(frame_path)
    stem, ext = osp.splitext(name)
    if path_template is not None:
        try:
            return path_template.format(frame_dir=frame_dir, stem=stem, ext=ext, suffix=suffix,
                                        maskige_root=maskige_root)
        except (KeyError, IndexError) as err:
            raise ValueError(f'path_template {path_template!r} uses an unknown field {err}; known: frame_dir, '
                             'stem, ext, suffix, maskige_root') from None
    if layout == 'beside':
        return osp.join(frame_dir, stem + suffix)
    if layout == 'mirror':
        if maskige_root is None or frames_root is None:
            raise ValueError("layout='mirror' needs maskige_root and frames_root")
        rel = osp.relpath(frame_dir, frames_root)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            raise ValueError(f'frame {frame_path!r} is not under frames_root {frames_root!r}')
        return osp.normpath(osp.join(maskige_root, rel, stem + suffix))
    if layout != 'official':
        raise ValueError(f'unknown Maskige layout {layout!r}; expected one of {LAYOUTS} or a path_template')
    parts = _split_parts(frame_path)
    kind = official_layout(frame_path)
    if kind == 's4_ms3':
        at = len(parts) - 2 - parts[:-1][::-1].index('visual_frames')  # last 'visual_frames' folder
        below = parts[at + 1:-1]
        base = maskige_root if maskige_root is not None else osp.join(_join_prefix(parts[:at]), 'pre_SAM_mask')
    elif kind == 'avss':
        below = parts[-4:-1]
        base = maskige_root if maskige_root is not None else osp.join(
            _join_prefix(parts[:-4]), 'pre_SAM_mask', 'AVSBench_semantic')
    else:
        raise ValueError(
            f'{frame_path!r} is not in an official AVSBench frame tree (S4/MS3 .../visual_frames/..., AVSS '
            f"{{root}}/{{v1s|v1m|v2}}/{{uid}}/{{frames dir}}/{{frame}}); use layout='beside' or 'mirror', or a "
            'path_template')
    return osp.join(base, *below, stem + suffix)
