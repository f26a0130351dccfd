"""BAVS's audio-visual tree: AudioSet tags (layer 3) -> sound sources (layer 2) -> acoustic groups (layer 1).

BAVS (arXiv 2308.10175, §III-C1, Fig. 4) maps the tagger's AudioSet tags to visual categories through a
three-layer tree: layer 3 holds the audio tags (527 in the paper), layer 2 the sound sources (156 in the paper),
among which the *red* nodes are the visual categories of the segmentation network, and layer 1 groups layer-2
nodes "based on the harmonics and overtones" (24 in the paper; e.g. ``road vehicle`` = car, truck, bus). The
paper's tree files are not available; the file format below is avsseg's (documented in ``docs/bavs.md``)::

    {"format": "avsseg-av-tree/1",
     "audio_labels": {"name": "audioset-527", "mids": ["/m/09x0r", ...], "names": ["Speech", ...]},
     "visual_classes": ["accordion", ..., "woman"],
     "layer1": [{"name": "road_vehicle", "children": ["car", "bus", ...]}, ...],
     "layer2": [{"name": "car", "visual": true, "tags": ["/m/0k4j", ...]},
                {"name": "noise", "visual": false, "tags": ["/m/028v0c", ...]}, ...]}

``audio_labels.names`` is optional (the tags' display names, checked against AudioSet's
``class_labels_indices.csv`` when the loader is given one). Every other key is required.
"""
import json
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..audio_backbones.audioset_labels import read_class_labels_csv

TREE_FORMAT = 'avsseg-av-tree/1'
#: Node counts of the paper's tree (layer 1 / layer 2 / layer 3), for the counts report.
PAPER_COUNTS = (24, 156, 527)


class AVTreeError(ValueError):
    """A malformed audio-visual tree file; the message names the file and the offending entry."""


def load_audioset_labels(csv_path: str) -> 'OrderedDict[str, str]':
    """AudioSet's ``class_labels_indices.csv`` as an ``OrderedDict`` mid -> display name, in index order.

    Read (and checked: header, contiguous indices, unique mids; errors name the file and row) by
    :func:`avsseg.models.audio_backbones.audioset_labels.read_class_labels_csv`, the one reader of that file.
    """
    return OrderedDict(read_class_labels_csv(csv_path))


class AudioVisualTree:
    """A validated audio-visual tree.

    Validation (bavs sheet §4.1, §7 test 6; every error is an :class:`AVTreeError` naming the file and entry):

    - ``format`` is ``avsseg-av-tree/1``; layer-1 and layer-2 names are unique;
    - every layer-3 mid (``audio_labels.mids``, unique) lies under exactly one layer-2 node, and layer-2 nodes
      only hold known mids;
    - every ``visual_classes`` entry is a ``visual=true`` layer-2 node and vice versa;
    - every layer-2 node has exactly one layer-1 parent, and layer-1 children are layer-2 nodes;
    - with ``label_csv``: every mid is in AudioSet's csv and, when ``audio_labels.names`` is given, each name is
      the csv's display name of its mid.

    Args:
        data: the parsed tree dict, or a path to its JSON file.
        label_csv: optional AudioSet ``class_labels_indices.csv`` to check the mids (and names) against.
        source: name used in error messages when ``data`` is a dict.

    Attributes:
        mids: layer-3 mids in file order; ``visual_classes``: the red nodes in file order;
        ``layer2``: ``OrderedDict`` node name -> ``dict(visual=bool, tags=[mids])``;
        ``layer1``: ``OrderedDict`` group name -> [layer-2 names].
    """

    def __init__(self, data: Union[str, dict], label_csv: Optional[str] = None, source: str = '<dict>'):
        if isinstance(data, str):
            source = data
            if not osp.isfile(data):
                raise FileNotFoundError(f'audio-visual tree file {data!r} does not exist')
            with open(data, encoding='utf-8') as f:
                try:
                    data = json.load(f)
                except json.JSONDecodeError as e:
                    raise AVTreeError(f'{source}: not valid JSON ({e})') from None
        self.source = source
        self._parse(data)
        if label_csv is not None:
            self._check_csv(load_audioset_labels(label_csv), label_csv)

    @classmethod
    def from_file(cls, path: str, label_csv: Optional[str] = None) -> 'AudioVisualTree':
        """Load and validate a tree JSON file."""
        return cls(path, label_csv=label_csv)

    def _error(self, msg: str) -> AVTreeError:
        return AVTreeError(f'{self.source}: {msg}')

    def _require(self, data: dict, key: str, kind: type):
        if key not in data:
            raise self._error(f'missing key {key!r}')
        if not isinstance(data[key], kind):
            raise self._error(f'{key!r} must be a {kind.__name__}, got {type(data[key]).__name__}')
        return data[key]

    def _parse(self, data: dict) -> None:
        if not isinstance(data, dict):
            raise self._error('the tree must be a JSON object')
        if data.get('format') != TREE_FORMAT:
            raise self._error(f'format must be {TREE_FORMAT!r}, got {data.get("format")!r}')
        audio = self._require(data, 'audio_labels', dict)
        mids = audio.get('mids')
        if not isinstance(mids, list) or not mids:
            raise self._error('audio_labels.mids must be a non-empty list')
        seen = set()
        for mid in mids:
            if mid in seen:
                raise self._error(f'audio_labels.mids lists {mid} twice')
            seen.add(mid)
        self.mids: List[str] = list(mids)
        names = audio.get('names')
        if names is not None and (not isinstance(names, list) or len(names) != len(mids)):
            raise self._error(f'audio_labels.names must be a list of {len(mids)} names (one per mid)')
        self.mid_names: Optional[Dict[str, str]] = dict(zip(mids, names)) if names is not None else None
        self.audio_label_set = str(audio.get('name', ''))

        visual_classes = self._require(data, 'visual_classes', list)
        if len(set(visual_classes)) != len(visual_classes):
            dup = sorted({c for c in visual_classes if visual_classes.count(c) > 1})
            raise self._error(f'visual_classes lists {dup} more than once')
        self.visual_classes: List[str] = list(visual_classes)

        self.layer2: 'OrderedDict[str, dict]' = OrderedDict()
        owner: Dict[str, str] = {}
        for i, node in enumerate(self._require(data, 'layer2', list)):
            if not isinstance(node, dict) or not isinstance(node.get('name'), str):
                raise self._error(f'layer2[{i}] must be an object with a string "name"')
            name = node['name']
            if name in self.layer2:
                raise self._error(f'layer2 node {name!r} is listed twice')
            if not isinstance(node.get('visual'), bool):
                raise self._error(f'layer2 node {name!r}: "visual" must be true or false')
            tags = node.get('tags', [])
            if not isinstance(tags, list):
                raise self._error(f'layer2 node {name!r}: "tags" must be a list of mids')
            for mid in tags:
                if mid not in seen:
                    raise self._error(f'layer2 node {name!r}: tag {mid} is not in audio_labels.mids')
                if mid in owner:
                    other = owner[mid]
                    raise self._error(f'tag {mid} is under two layer2 nodes: {other!r} and {name!r}'
                                      if other != name else f'layer2 node {name!r} lists tag {mid} twice')
                owner[mid] = name
            self.layer2[name] = dict(visual=node['visual'], tags=list(tags))
        orphans = [mid for mid in self.mids if mid not in owner]
        if orphans:
            raise self._error(f'{len(orphans)} audio_labels.mids are under no layer2 node: {orphans[:10]}'
                              f'{" ..." if len(orphans) > 10 else ""}')
        self.tag_owner = owner

        red = [n for n, v in self.layer2.items() if v['visual']]
        missing = [c for c in self.visual_classes if c not in self.layer2]
        if missing:
            raise self._error(f'visual classes {missing} are missing from layer2')
        not_red = [c for c in self.visual_classes if not self.layer2[c]['visual']]
        if not_red:
            raise self._error(f'visual classes {not_red} are layer2 nodes with "visual": false')
        extra = [n for n in red if n not in set(self.visual_classes)]
        if extra:
            raise self._error(f'layer2 nodes {extra} have "visual": true but are not in visual_classes')

        self.layer1: 'OrderedDict[str, List[str]]' = OrderedDict()
        parent: Dict[str, str] = {}
        for i, group in enumerate(self._require(data, 'layer1', list)):
            if not isinstance(group, dict) or not isinstance(group.get('name'), str):
                raise self._error(f'layer1[{i}] must be an object with a string "name"')
            gname = group['name']
            if gname in self.layer1:
                raise self._error(f'layer1 group {gname!r} is listed twice')
            children = group.get('children')
            if not isinstance(children, list) or not children:
                raise self._error(f'layer1 group {gname!r}: "children" must be a non-empty list of layer2 names')
            for child in children:
                if child not in self.layer2:
                    raise self._error(f'layer1 group {gname!r}: child {child!r} is not a layer2 node')
                if child in parent:
                    raise self._error(f'layer2 node {child!r} has two layer1 parents: {parent[child]!r} and '
                                      f'{gname!r}')
                parent[child] = gname
            self.layer1[gname] = list(children)
        no_parent = [n for n in self.layer2 if n not in parent]
        if no_parent:
            raise self._error(f'layer2 nodes {no_parent} have no layer1 parent')
        self.parent = parent

    def _check_csv(self, labels: 'OrderedDict[str, str]', csv_path: str) -> None:
        unknown = [mid for mid in self.mids if mid not in labels]
        if unknown:
            raise self._error(f'mids {unknown[:10]} are absent from {csv_path}')
        if self.mid_names is not None:
            for mid, name in self.mid_names.items():
                if labels[mid] != name:
                    raise self._error(f'tag {mid} is named {name!r} but {csv_path} names it {labels[mid]!r}')

    # ---------------------------------------------------------------- queries

    def counts(self) -> Dict[str, int]:
        """Node counts: ``layer1``, ``layer2`` (``visual`` red + ``non_visual``), ``layer3``."""
        visual = sum(v['visual'] for v in self.layer2.values())
        return dict(layer1=len(self.layer1), layer2=len(self.layer2), visual=visual,
                    non_visual=len(self.layer2) - visual, layer3=len(self.mids))

    def counts_report(self) -> str:
        """One line per layer with the paper's count next to this tree's."""
        c = self.counts()
        p1, p2, p3 = PAPER_COUNTS
        return '\n'.join([
            f'{self.source}:',
            f'  layer 1 (groups):      {c["layer1"]:4d}   (paper {p1})',
            f'  layer 2 (sources):     {c["layer2"]:4d}   (paper {p2}); visual {c["visual"]}, '
            f'non-visual {c["non_visual"]}',
            f'  layer 3 (audio tags):  {c["layer3"]:4d}   (paper {p3})',
        ])

    def group_of(self, name: str) -> str:
        """Layer-1 group of a layer-2 node (visual class or not)."""
        if name not in self.parent:
            raise KeyError(f'{name!r} is not a layer2 node of {self.source}')
        return self.parent[name]

    def siblings(self, name: str) -> List[str]:
        """The *visual* classes sharing ``name``'s layer-1 group, ``name`` excluded (BAVS's T_p retrieval)."""
        group = self.group_of(name)
        return [n for n in self.layer1[group] if n != name and self.layer2[n]['visual']]

    def _column_index(self, mids: Optional[Sequence[str]], num_tags: int) -> Tuple[np.ndarray, np.ndarray]:
        """For each probs column: its visual-class index (or -1: non-visual node)."""
        mids = self.mids if mids is None else list(mids)
        if len(mids) != num_tags:
            raise ValueError(f'tags_to_categories: probs have {num_tags} tags but {len(mids)} mids were given')
        vis_index = {c: i for i, c in enumerate(self.visual_classes)}
        cols = np.full(num_tags, -1, dtype=np.int64)
        unknown = []
        for j, mid in enumerate(mids):
            node = self.tag_owner.get(mid)
            if node is None:
                unknown.append(mid)
            elif self.layer2[node]['visual']:
                cols[j] = vis_index[node]
        if unknown:
            raise ValueError(f'tags_to_categories: the tagger\'s mids {unknown[:10]} are not in the tree '
                             f'{self.source}')
        return cols, np.asarray(mids)

    def tags_to_categories(self,
                           probs: Union[torch.Tensor, np.ndarray],
                           mids: Optional[Sequence[str]] = None,
                           tag_thr: float = 0.1,
                           topk: Optional[int] = None,
                           agg: str = 'sum') -> torch.Tensor:
        """Aggregate tag confidences into visual-category scores (BAVS's T_c).

        The paper keeps "any visual category (red node) with a non-zero score" after aggregating its tags'
        scores; sigmoid outputs are never zero, so tags are first kept by ``a >= tag_thr`` and, optionally, by
        being among the row's ``topk`` tags (bavs sheet A2, recommended ``tag_thr=0.1``, sum). Tags of
        non-visual nodes never reach a category.

        Args:
            probs: tag confidences in [0, 1], ``[L]`` or ``[N, L]``.
            mids: the AudioSet mid of each of the L columns (the tagger's ``label_mids``); default: the tree's
                ``audio_labels.mids`` order. Every mid must be in the tree.
            tag_thr: keep tags with confidence ``>= tag_thr``.
            topk: also require the tag to be among the row's ``topk`` most confident (``None``: no limit).
            agg: ``'sum'`` or ``'max'`` over a category's kept tags.

        Returns:
            float ``[V]`` or ``[N, V]`` scores over ``visual_classes`` (in their order); ``> 0`` means the
            category is in T_c.
        """
        if agg not in ('sum', 'max'):
            raise ValueError(f"tags_to_categories: agg must be 'sum' or 'max', got {agg!r}")
        probs = torch.as_tensor(probs, dtype=torch.float32)
        squeeze = probs.dim() == 1
        if squeeze:
            probs = probs[None]
        if probs.dim() != 2:
            raise ValueError(f'tags_to_categories: probs must be [L] or [N, L], got {tuple(probs.shape)}')
        cols, _ = self._column_index(mids, probs.shape[1])
        keep = probs >= tag_thr
        if topk is not None and topk < probs.shape[1]:
            top = torch.zeros_like(keep)
            top.scatter_(1, probs.topk(int(topk), dim=1).indices, True)
            keep &= top
        cols_t = torch.from_numpy(cols)
        visual = cols_t >= 0
        kept = torch.where(keep[:, visual], probs[:, visual], torch.zeros(()))
        out = torch.zeros(probs.shape[0], len(self.visual_classes))
        index = cols_t[visual][None].expand_as(kept)
        out.scatter_reduce_(1, index, kept, reduce='sum' if agg == 'sum' else 'amax', include_self=True)
        return out[0] if squeeze else out

    def categories_in(self, scores: torch.Tensor) -> 'OrderedDict[str, float]':
        """T_c of one row of :meth:`tags_to_categories`: category -> score, highest first."""
        scores = torch.as_tensor(scores)
        if scores.dim() != 1 or scores.numel() != len(self.visual_classes):
            raise ValueError(f'categories_in: expected [{len(self.visual_classes)}] scores, got '
                             f'{tuple(scores.shape)}')
        items = [(self.visual_classes[i], float(s)) for i, s in enumerate(scores.tolist()) if s > 0]
        items.sort(key=lambda kv: (-kv[1], self.visual_classes.index(kv[0])))
        return OrderedDict(items)

    def to_dict(self) -> dict:
        """The tree as its JSON object."""
        audio = dict(name=self.audio_label_set, mids=list(self.mids))
        if self.mid_names is not None:
            audio['names'] = [self.mid_names[m] for m in self.mids]
        return dict(format=TREE_FORMAT, audio_labels=audio, visual_classes=list(self.visual_classes),
                    layer1=[dict(name=g, children=list(c)) for g, c in self.layer1.items()],
                    layer2=[dict(name=n, visual=v['visual'], tags=list(v['tags'])) for n, v in self.layer2.items()])
