"""AudioSet's ``class_labels_indices.csv`` (``index,mid,display_name``): reading it and mapping a tagger's label names
to AudioSet machine ids (mids), checking the order."""
import csv
import os
import os.path as osp
from typing import List, Sequence, Tuple

CSV_HEADER = ('index', 'mid', 'display_name')


def read_class_labels_csv(path: str) -> List[Tuple[str, str]]:
    """``(mid, display_name)`` of every row of an AudioSet ``class_labels_indices.csv``, in index order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a header other than ``index,mid,display_name``, indices that are not ``0, 1, 2, ...``, an
            empty mid or name, or a repeated mid; the message names the file and the row.
    """
    path = os.fspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'AudioSet class label csv not found: {path!r} (class_labels_indices.csv, see '
                                'docs/audio_taggers.md)')
    with open(path, newline='', encoding='utf-8') as f:
        rows = list(csv.reader(f))
    if not rows or tuple(c.strip() for c in rows[0]) != CSV_HEADER:
        raise ValueError(f'{path}: the header must be {",".join(CSV_HEADER)}, got {rows[0] if rows else "nothing"}')
    labels, seen = [], {}
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 3:
            raise ValueError(f'{path} line {line}: expected 3 fields (index,mid,display_name), got {row}')
        index, mid, name = (c.strip() for c in row)
        if index != str(len(labels)):
            raise ValueError(f'{path} line {line}: index {index!r}, expected {len(labels)} (rows must be in index '
                             'order without gaps)')
        if not mid or not name:
            raise ValueError(f'{path} line {line}: empty mid or display_name: {row}')
        if mid in seen:
            raise ValueError(f'{path} line {line}: mid {mid} repeats line {seen[mid]}')
        seen[mid] = line
        labels.append((mid, name))
    if not labels:
        raise ValueError(f'{path}: no labels')
    return labels


def label_mids_from_csv(label_names: Sequence[str], path: str, what: str = 'tagger') -> List[str]:
    """AudioSet mids of a tagger's labels, which must be the csv's display names in the csv's order.

    A tagger trained on AudioSet orders its outputs as the csv (AST's ``config.id2label``); anything else means the
    csv or the model is not the expected one, so every difference is an error rather than a silent re-mapping.

    Args:
        label_names: the tagger's label names in output order (``config.id2label[i]``).
        path: ``class_labels_indices.csv``.
        what: the tagger, for messages.

    Returns:
        the mid of each output, in output order.
    """
    labels = read_class_labels_csv(path)
    if len(labels) != len(label_names):
        raise ValueError(f'{what} has {len(label_names)} labels but {path} has {len(labels)}')
    by_name = {name: i for i, (_, name) in enumerate(labels)}
    missing = [name for name in label_names if name not in by_name]
    if missing:
        raise ValueError(f'{what}: {len(missing)} label names are not display names of {path}: {missing[:10]}')
    moved = [(i, name, by_name[name]) for i, name in enumerate(label_names) if by_name[name] != i]
    if moved:
        shown = ', '.join(f'output {i} {name!r} is csv index {j}' for i, name, j in moved[:5])
        raise ValueError(f'{what}: the label order differs from {path} at {len(moved)} outputs: {shown}')
    return [mid for mid, _ in labels]
