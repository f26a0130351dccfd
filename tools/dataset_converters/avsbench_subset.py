"""Seeded subsets of an AVSBench S4 metadata csv for AuTR's few-shot (Tab. 3) and open-set (Tab. 5) settings.

Examples::

    # the first 10 % of a seeded shuffle of the train rows (val/test rows kept); 10 % c 20 % c 30 % for one seed
    python tools/dataset_converters/avsbench_subset.py few-shot DATA_ROOT/s4_meta_data.csv \\
        DATA_ROOT/s4_meta_data_10pct_seed0.csv --ratio 0.1 --seed 0
    # 11 seen / 12 unseen categories: writes OUT_PREFIX_seen.csv, OUT_PREFIX_unseen.csv and OUT_PREFIX_split.json
    python tools/dataset_converters/avsbench_subset.py open-set DATA_ROOT/s4_meta_data.csv \\
        DATA_ROOT/s4_open_set_seed0 --num-seen 11 --seed 0

The outputs keep the S4 csv's header and columns (``name,start,category,split``), so ``AVSBenchS4Dataset`` reads
them with ``ann_file=...``. The split column stays as it is, because the S4 reader takes the folder of a clip's
files from it: open-set training on the seen categories' train *and* val clips (as the paper) is a
``ConcatDataset`` of the ``_seen.csv`` train and val splits.
"""
import argparse
import csv
import json
import math
import os
import sys

import numpy as np

#: S4 csv columns read positionally as the official code does: 0 = name, 2 = category, 3 = split.
CATEGORY, SPLIT = 2, 3


def read_rows(path):
    try:
        with open(path, newline='', encoding='utf-8') as f:
            rows = [r for r in csv.reader(f) if r]
    except FileNotFoundError:
        raise SystemExit(f'avsbench_subset.py: error: S4 metadata csv not found: {path}') from None
    if len(rows) < 2:
        raise SystemExit(f'avsbench_subset.py: error: {path} has no rows below its header')
    bad = [i + 1 for i, r in enumerate(rows) if len(r) != len(rows[0]) or len(r) < 4]
    if bad:
        raise SystemExit(f'avsbench_subset.py: error: {path}: lines {bad[:5]} do not have the 4+ columns of the '
                         f'header {rows[0]}')
    return rows[0], rows[1:]


def write_rows(path, header, rows):
    with open(f'{path}.tmp', 'w', newline='', encoding='utf-8') as f:
        csv.writer(f, lineterminator='\n').writerows([header, *rows])
    os.replace(f'{path}.tmp', path)


def few_shot(rows, ratio, seed):
    """The train rows of a seeded shuffle cut to their first ``floor(ratio * N)`` (the authors' release:
    ``df[:int(len(df) * ratio)]`` of a shuffled csv), then the val/test rows unchanged."""
    if not 0 < ratio <= 1:
        raise SystemExit(f'avsbench_subset.py: error: --ratio must be in (0, 1], got {ratio}')
    train = [r for r in rows if r[SPLIT] == 'train']
    if not train:
        raise SystemExit('avsbench_subset.py: error: the csv has no train rows')
    order = np.random.default_rng(seed).permutation(len(train))
    keep = [train[i] for i in order[:int(math.floor(len(train) * ratio + 1e-9))]]
    return keep + [r for r in rows if r[SPLIT] != 'train']


def open_set(rows, num_seen, seed):
    """``(seen, unseen, seen categories)``: ``num_seen`` categories drawn with the seed, all their rows; the rest."""
    cats = sorted({r[CATEGORY] for r in rows})
    if not 0 < num_seen < len(cats):
        raise SystemExit(f'avsbench_subset.py: error: --num-seen must be in 1..{len(cats) - 1} for the '
                         f'{len(cats)} categories of the csv, got {num_seen}')
    seen = sorted(cats[i] for i in np.random.default_rng(seed).permutation(len(cats))[:num_seen])
    return [r for r in rows if r[CATEGORY] in seen], [r for r in rows if r[CATEGORY] not in seen], seen


def main(argv=None):
    p = argparse.ArgumentParser(description='Seeded few-shot / open-set subsets of an AVSBench S4 csv (AuTR).')
    sub = p.add_subparsers(dest='mode', required=True)
    fs = sub.add_parser('few-shot', help='first RATIO of a seeded shuffle of the train rows')
    fs.add_argument('csv')
    fs.add_argument('out_csv')
    fs.add_argument('--ratio', type=float, required=True, help='0.1, 0.2, 0.3 or 1.0 in the paper')
    fs.add_argument('--seed', type=int, default=0)
    op = sub.add_parser('open-set', help='seen / unseen categories')
    op.add_argument('csv')
    op.add_argument('out_prefix')
    op.add_argument('--num-seen', type=int, default=11, help='seen categories (paper: 11 of 23)')
    op.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    header, rows = read_rows(args.csv)
    if args.mode == 'few-shot':
        out = few_shot(rows, args.ratio, args.seed)
        write_rows(args.out_csv, header, out)
        print(f'{args.out_csv}: {sum(r[SPLIT] == "train" for r in out)} of '
              f'{sum(r[SPLIT] == "train" for r in rows)} train rows (ratio {args.ratio}, seed {args.seed})')
    else:
        seen_rows, unseen_rows, seen = open_set(rows, args.num_seen, args.seed)
        write_rows(f'{args.out_prefix}_seen.csv', header, seen_rows)
        write_rows(f'{args.out_prefix}_unseen.csv', header, unseen_rows)
        unseen = sorted({r[CATEGORY] for r in unseen_rows})
        with open(f'{args.out_prefix}_split.json', 'w') as f:
            json.dump(dict(seed=args.seed, seen=seen, unseen=unseen), f, indent=1)
        print(f'seen ({len(seen)}): {seen}\nunseen ({len(unseen)}): {unseen}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
