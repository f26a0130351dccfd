"""Generate COMBO Maskiges for a whole dataset: class-agnostic proposals -> ``{frame}_mask.npy`` and
``{frame}_mask_color.png`` in the official layout.

Examples::

    # SAM through transformers' mask-generation pipeline, from a local model folder (no download)
    python tools/dataset_converters/make_maskige.py data/AVSBench_object/Single-source --dataset s4 \
        --generator sam --model-dir checkpoints/sam-vit-huge --device cuda --points-per-batch 64

    # proposals made elsewhere (e.g. Semantic-SAM, as in the paper): only colour them
    python tools/dataset_converters/make_maskige.py data/AVSBench_object/Single-source --dataset s4 \
        --generator npy --proposals-root sam_out/AVSBench_object/Single-source

    # any folder of frames, Maskiges written next to the frames, with your own generator
    python tools/dataset_converters/make_maskige.py my_frames --dataset folder \
        --generator my_pkg.proposals:build --generator-kwargs '{"ckpt": "x.pth"}'

Frames (``--dataset``):
    ``s4``: ``s4_data/visual_frames/{split}/{category}/{video}/*.png`` (``--split`` picks the split folder);
    ``ms3``: ``ms3_data/visual_frames/{video}/*.png`` (``--split`` reads ``ms3_meta_data.csv``);
    ``avss``: ``{v1s,v1m,v2}/{uid}/{--frames-dirname}/*.{jpg,png}`` (``--split`` reads ``metadata.csv``);
    ``folder``: every image under DATA_ROOT.

Outputs: the official trees (see ``avsseg/datasets/maskige.py``): ``s4_data/pre_SAM_mask/...``,
``ms3_data/pre_SAM_mask/...``, ``pre_SAM_mask/AVSBench_semantic/...``; ``--out-root`` re-roots them (it replaces
``.../pre_SAM_mask`` or ``.../pre_SAM_mask/AVSBench_semantic``). For ``folder`` the files go next to the frames,
or into a mirror of DATA_ROOT under ``--out-root``. Proposals are written beside their Maskige unless
``--proposals-root`` is given (a mirror of DATA_ROOT, which is where the official ``make_SAM_mask.py`` writes).

Generators (``--generator``):
    ``sam``: ``transformers.pipeline('mask-generation')`` on a local model folder (``--model-dir``: a folder
    holding ``config.json``, the weights and ``preprocessor_config.json``, e.g. a ``save_pretrained`` copy of
    ``facebook/sam-vit-huge``). Nothing is downloaded (``local_files_only=True``).
    ``npy``: read the existing ``{frame}_mask.npy`` proposals and only write the Maskiges.
    ``MODULE:FACTORY`` (or ``path/to/file.py:FACTORY``): ``FACTORY(**generator_kwargs)`` is called once and must
    return a callable ``generate(image) -> masks`` taking a uint8 RGB ``[H, W, 3]`` frame and returning bool
    ``[K, H, W]`` proposals at the frame's size (``K`` may be 0).

Resuming: a frame whose Maskige PNG and proposals ``.npy`` both exist and read back with the expected size is
skipped; one with valid proposals but no Maskige is only coloured (no model call). ``--overwrite`` redoes all.
Files are written under a temporary name and renamed, so an interrupted run never leaves a truncated file.
"""
import argparse
import csv
import importlib
import importlib.util
import json
import os
import os.path as osp
import sys
from glob import glob
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
from PIL import Image
from tqdm import tqdm

from avsseg.datasets.maskige import (AVSS_SETS, MASKIGE_SUFFIX, PROPOSALS_SUFFIX, check_proposals, load_proposals,
                                     maskige_path, masks_to_index_map, save_maskige, save_proposals)

IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp')
DATASETS = ('s4', 'ms3', 'avss', 'folder')


# ------------------------------------------------------------------------------------------ frames
def _read_split_column(csv_path: str, split: str, name_column) -> set:
    if not osp.isfile(csv_path):
        raise FileNotFoundError(f'--split needs the metadata csv {csv_path!r}')
    with open(csv_path, newline='', encoding='utf-8') as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        if 'split' not in header:
            raise ValueError(f'{csv_path}: no "split" column (header: {header})')
        col_split = header.index('split')
        col_name = header.index(name_column) if isinstance(name_column, str) else name_column
        names = {row[col_name].strip() for row in reader if row and row[col_split].strip() == split}
    if not names:
        raise ValueError(f'{csv_path}: split {split!r} has no videos')
    return names


def list_frames(data_root: str, dataset: str, split: Optional[str] = None,
                frames_dirname: str = 'frames') -> List[str]:
    """Sorted frame paths of a dataset (see the module docstring)."""
    if not osp.isdir(data_root):
        raise FileNotFoundError(f'data root not found: {data_root!r}')
    if dataset == 's4':
        base = osp.join(data_root, 's4_data', 'visual_frames')
        frames = glob(osp.join(base, split or '*', '*', '*', '*.png'))
    elif dataset == 'ms3':
        base = osp.join(data_root, 'ms3_data', 'visual_frames')
        frames = glob(osp.join(base, '*', '*.png'))
        if split is not None:
            names = _read_split_column(osp.join(data_root, 'ms3_meta_data.csv'), split, 0)
            frames = [f for f in frames if osp.basename(osp.dirname(f)) in names]
    elif dataset == 'avss':
        base = data_root
        frames = [f for s in AVSS_SETS for f in glob(osp.join(data_root, s, '*', frames_dirname, '*'))
                  if f.lower().endswith(IMAGE_EXTS)]
        if split is not None:
            uids = _read_split_column(osp.join(data_root, 'metadata.csv'), split, 'uid')
            frames = [f for f in frames if osp.basename(osp.dirname(osp.dirname(f))) in uids]
    elif dataset == 'folder':
        base = data_root
        frames = [osp.join(d, n) for d, _, names in os.walk(data_root) for n in names
                  if n.lower().endswith(IMAGE_EXTS) and not n.endswith(MASKIGE_SUFFIX) and '.tmp' not in n]
    else:
        raise ValueError(f'unknown dataset {dataset!r}; expected one of {DATASETS}')
    frames = [f for f in frames if not osp.basename(f).endswith(MASKIGE_SUFFIX)]
    if not frames:
        raise FileNotFoundError(f'no {dataset} frames found under {base!r}'
                                f'{f" for split {split!r}" if split else ""}')
    return sorted(frames)


# ------------------------------------------------------------------------------------------ generators
def check_sam_model_dir(model_dir: Optional[str]) -> None:
    """Clear errors for a missing or incomplete local SAM folder (checked before any frame is processed)."""
    if not model_dir:
        raise ValueError('--generator sam needs --model-dir (a local SAM folder; nothing is downloaded)')
    if not osp.isdir(model_dir):
        raise FileNotFoundError(f'SAM model folder not found: {model_dir!r} (a local folder written by '
                                'save_pretrained, e.g. a copy of facebook/sam-vit-huge)')
    for name in ('config.json', 'preprocessor_config.json'):
        if not osp.isfile(osp.join(model_dir, name)):
            raise FileNotFoundError(f'SAM model folder {model_dir!r} lacks {name}')


def build_sam_generator(model_dir: str,
                        device: str = 'cpu',
                        points_per_batch: int = 64,
                        points_per_crop: int = 32,
                        pred_iou_thresh: float = 0.88,
                        stability_score_thresh: float = 0.95,
                        crops_n_layers: int = 0,
                        crops_nms_thresh: float = 0.7) -> Callable[[np.ndarray], np.ndarray]:
    """SAM automatic mask generation with transformers' ``mask-generation`` pipeline, offline.

    ``model_dir`` must be a local folder with the model (``config.json`` + weights) and its image processor
    (``preprocessor_config.json``), as written by ``save_pretrained``. Defaults are SAM's automatic mask
    generator defaults (32x32 points, IoU 0.88, stability 0.95, box NMS 0.7).
    """
    check_sam_model_dir(model_dir)
    import torch
    from transformers import AutoImageProcessor, AutoModelForMaskGeneration, pipeline

    model = AutoModelForMaskGeneration.from_pretrained(model_dir, local_files_only=True)
    processor = AutoImageProcessor.from_pretrained(model_dir, local_files_only=True)
    generator = pipeline('mask-generation', model=model, image_processor=processor, device=device)
    call_kwargs = dict(points_per_batch=points_per_batch, points_per_crop=points_per_crop,
                       pred_iou_thresh=pred_iou_thresh, stability_score_thresh=stability_score_thresh,
                       crops_n_layers=crops_n_layers, crops_nms_thresh=crops_nms_thresh)

    def generate(image: np.ndarray) -> np.ndarray:
        out = generator(Image.fromarray(image), **call_kwargs)
        masks = [m.cpu().numpy() if isinstance(m, torch.Tensor) else np.asarray(m) for m in out['masks']]
        if not masks:
            return np.zeros((0, *image.shape[:2]), dtype=bool)
        return np.stack(masks).astype(bool)

    return generate


_FACTORIES: Dict[str, Callable] = {}


def load_generator_factory(spec: str) -> Callable:
    """``'pkg.module:factory'`` or ``'path/to/file.py:factory'`` -> the factory callable."""
    if spec in _FACTORIES:
        return _FACTORIES[spec]
    if ':' not in spec:
        raise ValueError(f'--generator {spec!r}: expected sam, npy or MODULE:FACTORY')
    module_name, _, attr = spec.rpartition(':')
    if module_name.endswith('.py'):
        if not osp.isfile(module_name):
            raise FileNotFoundError(f'--generator: file not found: {module_name!r}')
        mod_spec = importlib.util.spec_from_file_location(
            f'maskige_generator_{abs(hash(module_name))}', module_name)
        module = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    if not hasattr(module, attr):
        raise AttributeError(f'--generator: {module_name!r} has no attribute {attr!r}')
    factory = getattr(module, attr)
    if not callable(factory):
        raise TypeError(f'--generator: {spec!r} is not callable')
    _FACTORIES[spec] = factory
    return factory


class GeneratorBuildError(RuntimeError):
    """The generator could not be built: fatal even with --keep-going."""


class LazyGenerator:
    """Builds the generator on the first frame that needs it, so resuming a finished run loads no model."""

    def __init__(self, build: Callable[[], Callable[[np.ndarray], np.ndarray]]):
        self._build = build
        self._generate = None

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if self._generate is None:
            try:
                self._generate = self._build()
            except Exception as err:
                raise GeneratorBuildError(f'cannot build the proposal generator: {err}') from err
        return self._generate(image)


def build_generator(args) -> Optional[Callable[[np.ndarray], np.ndarray]]:
    """The per-frame generator (loaded lazily), or ``None`` for ``--generator npy``."""
    if args.generator == 'npy':
        return None
    if args.generator == 'sam':
        check_sam_model_dir(args.model_dir)
        return LazyGenerator(lambda: _build_generator(args))
    kwargs = json.loads(args.generator_kwargs) if args.generator_kwargs else {}
    if not isinstance(kwargs, dict):
        raise ValueError(f'--generator-kwargs must be a JSON object, got {args.generator_kwargs!r}')
    load_generator_factory(args.generator)  # import errors surface before the first frame
    return LazyGenerator(lambda: _build_generator(args))


def _build_generator(args) -> Callable[[np.ndarray], np.ndarray]:
    if args.generator == 'sam':
        return build_sam_generator(
            args.model_dir, device=args.device, points_per_batch=args.points_per_batch,
            points_per_crop=args.points_per_crop, pred_iou_thresh=args.pred_iou_thresh,
            stability_score_thresh=args.stability_score_thresh, crops_n_layers=args.crops_n_layers,
            crops_nms_thresh=args.crops_nms_thresh)
    kwargs = json.loads(args.generator_kwargs) if args.generator_kwargs else {}
    if not isinstance(kwargs, dict):
        raise ValueError(f'--generator-kwargs must be a JSON object, got {args.generator_kwargs!r}')
    generate = load_generator_factory(args.generator)(**kwargs)
    if not callable(generate):
        raise TypeError(f'--generator {args.generator}: the factory returned a {type(generate).__name__}, '
                        'expected a callable generate(image) -> bool [K, H, W]')
    return generate


# ------------------------------------------------------------------------------------------ outputs
def output_paths(frame: str, args) -> Tuple[str, str]:
    """``(maskige_png, proposals_npy)`` of a frame."""
    if args.dataset == 'folder':
        layout = 'mirror' if args.out_root else 'beside'
        color = maskige_path(frame, layout, maskige_root=args.out_root, frames_root=args.data_root)
    else:
        color = maskige_path(frame, 'official', maskige_root=args.out_root)
    if args.proposals_root:
        npy = maskige_path(frame, 'mirror', maskige_root=args.proposals_root, frames_root=args.data_root,
                           suffix=PROPOSALS_SUFFIX)
    else:
        npy = color[:-len(MASKIGE_SUFFIX)] + PROPOSALS_SUFFIX
    return color, npy


def _png_size(path: str) -> Optional[Tuple[int, int]]:
    """``(height, width)`` of a readable image, else ``None``."""
    try:
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            return img.size[1], img.size[0]
    except Exception:  # missing, truncated or not an image: regenerate
        return None


def _npy_shape(path: str) -> Optional[tuple]:
    """Shape of a numeric ``.npy`` (header only), else ``None``."""
    try:
        arr = np.load(path, mmap_mode='r', allow_pickle=False)
    except Exception:  # missing, truncated or pickled: regenerate
        return None
    if arr.dtype == object or arr.ndim not in (2, 3):
        return None
    return tuple(arr.shape)


def _frame_size(frame: str) -> Tuple[int, int]:
    with Image.open(frame) as img:
        return img.size[1], img.size[0]


def expected_size(frame_hw: Tuple[int, int], out_size) -> Tuple[int, int]:
    if out_size is None:
        return frame_hw
    return (out_size, out_size) if isinstance(out_size, int) else tuple(out_size)


def process_frame(frame: str, args, generate) -> str:
    """Makes the outputs of one frame; returns ``'skipped'``, ``'coloured'`` or ``'generated'``."""
    color_path, npy_path = output_paths(frame, args)
    frame_hw = _frame_size(frame)
    want_hw = expected_size(frame_hw, args.out_size)
    npy_shape = _npy_shape(npy_path)
    npy_ok = npy_shape is not None and tuple(npy_shape[-2:]) == frame_hw
    if generate is None:  # --generator npy: the proposals are the input
        if npy_shape is None:
            raise FileNotFoundError(f'{frame}: proposals {npy_path!r} missing or unreadable (--generator npy '
                                    'only colours existing {frame}_mask.npy files)')
        if not args.overwrite and _png_size(color_path) == want_hw:
            return 'skipped'
        # External proposals may come at another resolution (e.g. Semantic-SAM's input size); the rank map
        # is then resized to the requested/frame size with nearest-neighbour, as the official script does.
        masks = load_proposals(npy_path)
        save_maskige(masks_to_index_map(masks, want_hw, args.overflow), color_path)
        return 'coloured'
    if not args.overwrite and npy_ok:
        if _png_size(color_path) == want_hw:
            return 'skipped'
        save_maskige(masks_to_index_map(load_proposals(npy_path), want_hw, args.overflow), color_path)
        return 'coloured'
    with Image.open(frame) as img:
        image = np.asarray(img.convert('RGB'), dtype=np.uint8)
    masks = check_proposals(generate(image), f'proposals of {frame}')
    if masks.shape[1:] != frame_hw:
        raise ValueError(f'{frame}: the generator returned masks of size {masks.shape[1:]}, the frame is '
                         f'{frame_hw} (HxW)')
    index = masks_to_index_map(masks, want_hw, args.overflow)
    if masks.shape[0] == 0:
        # The official tool stores zeros [1, H, W] for a frame without proposals; its colouring script cannot
        # read an empty [0, H, W] array, so the same convention is kept.
        masks = np.zeros((1, *frame_hw), dtype=bool)
    save_proposals(masks, npy_path)  # proposals first: a frame counts as done only once its PNG exists too
    save_maskige(index, color_path)
    return 'generated'


def run(args) -> Dict[str, int]:
    frames = list_frames(args.data_root, args.dataset, args.split, args.frames_dirname)
    generate = build_generator(args)
    counts = dict(generated=0, coloured=0, skipped=0, failed=0)
    failures = []
    bar = tqdm(frames, desc=f'maskige[{args.dataset}]', unit='frame', disable=args.no_progress)
    for frame in bar:
        try:
            counts[process_frame(frame, args, generate)] += 1
        except GeneratorBuildError:
            raise
        except Exception as err:
            if not args.keep_going:
                raise RuntimeError(f'failed on frame {frame!r}: {err}') from err
            counts['failed'] += 1
            failures.append(f'{frame}: {type(err).__name__}: {err}')
            tqdm.write(f'FAILED {frame}: {err}')
        bar.set_postfix(counts, refresh=False)
    print(f'{len(frames)} frames: ' + ', '.join(f'{k} {v}' for k, v in counts.items()))
    if failures:
        log = osp.abspath('make_maskige_failures.txt')
        with open(log, 'w', encoding='utf-8') as f:
            f.write('\n'.join(failures) + '\n')
        print(f'{len(failures)} frames failed; listed in {log}. Re-run to retry them.')
    return counts


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Class-agnostic proposals -> COMBO Maskige ({frame}_mask.npy + {frame}_mask_color.png) for '
        'a whole dataset, resumable.', formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='The paper used Semantic-SAM (Swin-L, level 3) proposals; see docs/maskige.md for running it '
        'externally and colouring its .npy files with --generator npy.')
    parser.add_argument('data_root', help='S4 "Single-source" / MS3 "Multi-sources" / "AVSBench_semantic" folder, '
                        'or any folder of frames (--dataset folder)')
    parser.add_argument('--dataset', choices=DATASETS, required=True)
    parser.add_argument('--split', default=None, help='train / val / test (default: all)')
    parser.add_argument('--frames-dirname', default='frames',
                        help='AVSS frame folder inside {uid}/ (the official COMBO AVSS model uses processed_frames)')
    parser.add_argument('--generator', default='sam', help='sam | npy | MODULE:FACTORY | file.py:FACTORY')
    parser.add_argument('--generator-kwargs', default=None, help='JSON object passed to a MODULE:FACTORY')
    parser.add_argument('--model-dir', default=None, help='local SAM folder for --generator sam')
    parser.add_argument('--device', default='cpu', help='cpu, cuda, cuda:1 ... (--generator sam)')
    parser.add_argument('--points-per-batch', type=int, default=64)
    parser.add_argument('--points-per-crop', type=int, default=32, help='grid points per side')
    parser.add_argument('--pred-iou-thresh', type=float, default=0.88)
    parser.add_argument('--stability-score-thresh', type=float, default=0.95)
    parser.add_argument('--crops-n-layers', type=int, default=0)
    parser.add_argument('--crops-nms-thresh', type=float, default=0.7)
    parser.add_argument('--out-root', default=None, help='re-root the output trees (see the module docstring)')
    parser.add_argument('--proposals-root', default=None,
                        help='read/write {frame}_mask.npy in a mirror of DATA_ROOT under this folder')
    parser.add_argument('--out-size', type=int, default=None,
                        help='square Maskige size (the official S4 script uses 224); default: the frame size')
    parser.add_argument('--overflow', choices=('error', 'clip'), default='clip',
                        help='more than 255 proposals: fail, or give the largest ones rank 255 (default)')
    parser.add_argument('--overwrite', action='store_true', help='redo frames whose outputs exist')
    parser.add_argument('--keep-going', action='store_true',
                        help='log failing frames and continue (exit status 1 at the end)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    if args.out_size is not None and args.out_size <= 0:
        parser.error('--out-size must be positive')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    counts = run(args)
    return 1 if counts['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
