"""Generate a procedurally generated AVSBench-style dataset (S4, MS3 or AVSBench-semantic layout).

Example::

    python tools/dataset_converters/synthetic_avsbench.py data/synthetic_s4 --subset s4

``OUT_DIR`` becomes the ``data_root`` of the chosen subset. See ``docs/synthetic_data.md``.
"""
import argparse
import sys

from avsseg.datasets.synthetic import (CATEGORIES, DEFAULT_NUM_VIDEOS, DEFAULT_SILENT_RATIO, DEFAULT_SPLIT_RATIOS,
                                       SUBSETS, generate_synthetic_avsbench)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write a synthetic audio-visual segmentation dataset in an official AVSBench layout '
        '(S4: s4_meta_data.csv + s4_data/, MS3: ms3_meta_data.csv + ms3_data/, AVSS: metadata.csv + '
        'label2idx.json + v1s/ v1m/ v2/). Clips are split train/val/test by --split-ratios.')
    parser.add_argument('out_dir', help='output folder (becomes the data_root of the subset)')
    parser.add_argument('--subset', required=True, choices=SUBSETS, help='which AVSBench layout to write')
    parser.add_argument('--seed', type=int, default=0, help='dataset seed (same seed, same dataset)')
    parser.add_argument(
        '--num-videos',
        type=int,
        default=DEFAULT_NUM_VIDEOS,
        help=f'total number of clips over all splits (default {DEFAULT_NUM_VIDEOS})')
    parser.add_argument('--image-size', type=int, default=224, help='frame side in pixels (default 224)')
    parser.add_argument(
        '--silent-ratio',
        type=float,
        default=DEFAULT_SILENT_RATIO,
        help=f'share of each split made of silent clips with empty masks (default {DEFAULT_SILENT_RATIO})')
    parser.add_argument(
        '--split-ratios',
        type=float,
        nargs=3,
        default=list(DEFAULT_SPLIT_RATIOS),
        metavar=('TRAIN', 'VAL', 'TEST'),
        help='train / val / test proportions (default 0.7 0.15 0.15)')
    parser.add_argument(
        '--workers',
        type=int,
        default=1,
        help='worker processes (default 1: the default set takes under a minute on one core, and each extra '
        'worker process first spends seconds importing avsseg); the output does not depend on it')
    parser.add_argument(
        '--maskige',
        action='store_true',
        help="also write COMBO Maskiges ({frame}_mask_color.png in the official pre_SAM_mask tree) painted from "
        'ideal class-agnostic proposals of every object and the background (no SAM needed)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='allow a non-empty OUT_DIR: the files of this subset in it are replaced, other files are kept')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        summary = generate_synthetic_avsbench(
            args.out_dir,
            args.subset,
            seed=args.seed,
            num_videos=args.num_videos,
            image_size=args.image_size,
            silent_ratio=args.silent_ratio,
            split_ratios=args.split_ratios,
            workers=args.workers,
            overwrite=args.overwrite,
            progress=True,
            maskige=args.maskige)
    except (FileExistsError, NotADirectoryError, ValueError) as err:
        sys.exit(f'synthetic_avsbench.py: error: {err}')

    print(f'Synthetic {summary["subset"].upper()} dataset written to {summary["data_root"]} '
          f'(use it as data_root) in {summary["elapsed_s"]:.1f} s')
    print(f'  seed {summary["seed"]}, {summary["num_videos"]} clips of {summary["image_size"]}x'
          f'{summary["image_size"]}, {summary["num_files"]} files' + (', with Maskiges' if summary['maskige'] else ''))
    for split, count in summary['splits'].items():
        print(f'  {split:5s}: {count:5d} clips ({summary["silent_clips"][split]} silent)')
    if summary['labels']:
        print('  AVSS subsets: ' + ', '.join(f'{k} {v}' for k, v in summary['labels'].items()))
    print(f'  {len(CATEGORIES)} categories:')
    for cat in CATEGORIES:
        print(f'    {cat.name:9s} {cat.shape:9s} rgb{tuple(cat.colour)!s:16s} {cat.description}')


if __name__ == '__main__':
    main()
