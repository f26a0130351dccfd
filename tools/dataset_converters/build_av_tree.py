"""Build a BAVS audio-visual tree (``avsseg-av-tree/1``) from AudioSet's label csv, its ontology and a curated map.

Example::

    python tools/dataset_converters/build_av_tree.py \
        --labels checkpoints/audioset/class_labels_indices.csv \
        --ontology checkpoints/audioset/ontology.json \
        --map configs/bavs/trees/avss_curated_map.json \
        -o configs/bavs/trees/avss_av_tree.json

The paper's tree (24 / 156 / 527 nodes, "downloadable from our project website") could not be obtained, so
the tree is rebuilt from:

- ``--labels``: AudioSet's ``class_labels_indices.csv`` (``index,mid,display_name``): the layer-3 tags, in the
  tagger's output order.
- ``--map``: the curated map (format ``avsseg-av-curated-map/1``, see ``docs/bavs.md``): for each visual class
  (the red layer-2 nodes) the AudioSet tags that belong to it, each given by display name or mid, optionally with
  ``"subtree": true`` (the tag and all its ontology descendants); the layer-1 groups of the visual classes; and
  how the remaining tags are grouped (``non_visual``).
- ``--ontology`` (optional): AudioSet's ``ontology.json``. Needed for ``subtree`` entries and to name the
  non-visual layer-2 nodes after an ontology ancestor of their tags (``non_visual.depth``: 0 = the ontology
  root, 1 = its child, ...; a tag shallower than that is its own node) with one layer-1 group per ontology root.
  Without it every unassigned tag goes to the one non-visual node ``non_visual.default_node``.

Assignment rules: an explicit entry wins over a ``subtree`` one, and among ``subtree`` entries the nearest
ancestor wins; two explicit entries for one tag, or two subtree entries at the same distance, are errors naming
both classes. A name absent from the csv, a visual class missing from the groups or in two groups, and a tag
absent from the ontology are errors naming the map file and the entry. The written tree is re-read with
:class:`avsseg.models.utils.AudioVisualTree` (all its checks) and its node counts are printed next to the
paper's, with the visual classes that received no tag (they can only be retrieved through their group).
"""
import argparse
import json
import os
import os.path as osp
import sys
from collections import OrderedDict, deque
from typing import Dict, List, Optional, Tuple

from avsseg.models.utils.av_tree import TREE_FORMAT, AudioVisualTree, AVTreeError, load_audioset_labels

MAP_FORMAT = 'avsseg-av-curated-map/1'


class BuildError(ValueError):
    """A problem in the builder's inputs; the message names the file and the entry."""


def load_ontology(path: str) -> Dict[str, dict]:
    """AudioSet ``ontology.json`` -> ``{id: dict(name=..., child_ids=[...])}`` in file order."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'AudioSet ontology {path!r} does not exist')
    with open(path, encoding='utf-8') as f:
        try:
            nodes = json.load(f)
        except json.JSONDecodeError as e:
            raise BuildError(f'{path}: not valid JSON ({e})') from None
    if not isinstance(nodes, list):
        raise BuildError(f'{path}: expected a list of ontology nodes')
    onto = OrderedDict()
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or 'id' not in node or 'name' not in node:
            raise BuildError(f'{path}: node {i} lacks "id" or "name"')
        onto[node['id']] = dict(name=node['name'], child_ids=list(node.get('child_ids', [])))
    for nid, node in onto.items():
        for child in node['child_ids']:
            if child not in onto:
                raise BuildError(f'{path}: node {nid} ({node["name"]}) lists unknown child {child}')
    return onto


def ontology_paths(onto: Dict[str, dict]) -> Dict[str, List[str]]:
    """For every node the first root-to-node path (breadth first from the roots in file order).

    AudioSet's ontology is a DAG (a few nodes have two parents); the first path found is used, so the result is
    deterministic given the file.
    """
    children = {c for n in onto.values() for c in n['child_ids']}
    roots = [nid for nid in onto if nid not in children]
    paths: Dict[str, List[str]] = {}
    queue = deque()
    for r in roots:
        paths[r] = [r]
        queue.append(r)
    while queue:
        nid = queue.popleft()
        for child in onto[nid]['child_ids']:
            if child not in paths:
                paths[child] = paths[nid] + [child]
                queue.append(child)
    return paths


def descendants(onto: Dict[str, dict], nid: str) -> Dict[str, int]:
    """Node ids under ``nid`` (itself included) with their shortest distance from it."""
    dist = {nid: 0}
    queue = deque([nid])
    while queue:
        cur = queue.popleft()
        for child in onto[cur]['child_ids']:
            if child not in dist:
                dist[child] = dist[cur] + 1
                queue.append(child)
    return dist


def _load_map(path: str) -> dict:
    if not osp.isfile(path):
        raise FileNotFoundError(f'curated map {path!r} does not exist')
    with open(path, encoding='utf-8') as f:
        try:
            cmap = json.load(f)
        except json.JSONDecodeError as e:
            raise BuildError(f'{path}: not valid JSON ({e})') from None
    if not isinstance(cmap, dict) or cmap.get('format') != MAP_FORMAT:
        raise BuildError(f'{path}: format must be {MAP_FORMAT!r}')
    for key, kind in (('visual_classes', list), ('visual', dict), ('groups', dict)):
        if not isinstance(cmap.get(key), kind):
            raise BuildError(f'{path}: {key!r} must be a {kind.__name__}')
    return cmap


def build_tree(labels_csv: str, map_path: str, ontology: Optional[str] = None,
               name: Optional[str] = None) -> Tuple[dict, List[str]]:
    """Build the tree dict.

    Args:
        labels_csv: AudioSet ``class_labels_indices.csv`` (or a csv of the same format for another tag set).
        map_path: the curated map.
        ontology: optional ``ontology.json``.
        name: ``audio_labels.name`` of the tree (default: the csv's file name).

    Returns:
        ``(tree dict, notes)``; notes are human-readable remarks (visual classes without tags, ...).
    """
    labels = load_audioset_labels(labels_csv)
    by_name: Dict[str, str] = {}
    for mid, disp in labels.items():
        by_name.setdefault(disp, mid)
    cmap = _load_map(map_path)
    onto = load_ontology(ontology) if ontology else None
    if onto is not None:
        missing = [mid for mid in labels if mid not in onto]
        if missing:
            raise BuildError(f'{ontology}: tags {missing[:10]} of {labels_csv} are not ontology nodes')

    classes = list(cmap['visual_classes'])
    if len(set(classes)) != len(classes):
        raise BuildError(f'{map_path}: visual_classes has duplicates')
    unknown = [c for c in cmap['visual'] if c not in classes]
    if unknown:
        raise BuildError(f'{map_path}: "visual" has entries for {unknown}, which are not in visual_classes')

    # tag -> (class, rank): rank -1 for an explicit entry, else the ontology distance from the subtree root
    claims: Dict[str, Tuple[str, int]] = {}

    def claim(mid: str, cls: str, rank: int, entry) -> None:
        if mid in claims:
            other, other_rank = claims[mid]
            if other_rank == rank and other != cls:
                raise BuildError(f'{map_path}: tag {mid} ({labels[mid]!r}) is claimed by {other!r} and {cls!r} '
                                 f'(entry {entry!r})')
            if other_rank <= rank:
                return
        claims[mid] = (cls, rank)

    for cls in classes:
        entries = cmap['visual'].get(cls, [])
        if not isinstance(entries, list):
            raise BuildError(f'{map_path}: visual[{cls!r}] must be a list of tags')
        for entry in entries:
            tag, subtree = (entry, False) if isinstance(entry, str) else (entry.get('tag'), entry.get('subtree'))
            if not isinstance(tag, str):
                raise BuildError(f'{map_path}: visual[{cls!r}] entry {entry!r} must be a tag name or mid, or '
                                 '{"tag": ..., "subtree": true}')
            mid = tag if tag in labels else by_name.get(tag)
            if mid is None:
                if onto is not None and subtree and (tag in onto or any(n['name'] == tag for n in onto.values())):
                    # an abstract ontology node (not a tag itself) whose subtree holds tags
                    mid = tag if tag in onto else next(i for i, n in onto.items() if n['name'] == tag)
                else:
                    raise BuildError(f'{map_path}: visual[{cls!r}] entry {tag!r} is absent from {labels_csv} '
                                     '(neither a display name nor a mid)')
            if subtree:
                if onto is None:
                    raise BuildError(f'{map_path}: visual[{cls!r}] entry {tag!r} is a subtree; pass --ontology')
                for desc, dist in descendants(onto, mid).items():
                    if desc in labels:
                        claim(desc, cls, dist, tag)
            else:
                if mid in claims and claims[mid][1] == -1 and claims[mid][0] != cls:
                    raise BuildError(f'{map_path}: tag {mid} ({labels[mid]!r}) is listed under {claims[mid][0]!r} '
                                     f'and {cls!r}')
                claims[mid] = (cls, -1)

    groups = cmap['groups']
    parent: Dict[str, str] = {}
    for gname, members in groups.items():
        if not isinstance(members, list) or not members:
            raise BuildError(f'{map_path}: groups[{gname!r}] must be a non-empty list of visual classes')
        for m in members:
            if m not in classes:
                raise BuildError(f'{map_path}: groups[{gname!r}] member {m!r} is not a visual class')
            if m in parent:
                raise BuildError(f'{map_path}: visual class {m!r} is in two groups: {parent[m]!r} and {gname!r}')
            parent[m] = gname
    orphans = [c for c in classes if c not in parent]
    if orphans:
        raise BuildError(f'{map_path}: visual classes {orphans} are in no group')

    nv_cfg = cmap.get('non_visual', {}) or {}
    depth = int(nv_cfg.get('depth', 1))
    default_node = nv_cfg.get('default_node', 'other')
    default_group = nv_cfg.get('default_group', 'non_visual')
    nonvisual: 'OrderedDict[str, List[str]]' = OrderedDict()
    nv_group: Dict[str, str] = {}
    paths = ontology_paths(onto) if onto is not None else None
    for mid in labels:
        if mid in claims:
            continue
        if paths is None:
            node, group = default_node, default_group
        else:
            path = paths[mid]
            node = onto[path[min(depth, len(path) - 1)]]['name']
            group = onto[path[0]]['name']
        if node in classes:
            raise BuildError(f'non-visual node name {node!r} (ontology) clashes with a visual class of {map_path}')
        nonvisual.setdefault(node, []).append(mid)
        if nv_group.setdefault(node, group) != group:
            raise BuildError(f'non-visual node {node!r} falls under two layer-1 groups')
    clash = [g for g in set(nv_group.values()) if g in groups]
    if clash:
        raise BuildError(f'{map_path}: groups {clash} clash with non-visual group names')

    layer2 = [dict(name=c, visual=True, tags=[m for m in labels if claims.get(m, (None,))[0] == c]) for c in classes]
    layer2 += [dict(name=n, visual=False, tags=tags) for n, tags in nonvisual.items()]
    layer1 = [dict(name=g, children=list(members)) for g, members in groups.items()]
    nv_groups: 'OrderedDict[str, List[str]]' = OrderedDict()
    for node, group in nv_group.items():
        nv_groups.setdefault(group, []).append(node)
    layer1 += [dict(name=g, children=nodes) for g, nodes in nv_groups.items()]
    tree = dict(format=TREE_FORMAT,
                audio_labels=dict(name=name or osp.splitext(osp.basename(labels_csv))[0], mids=list(labels),
                                  names=list(labels.values())),
                visual_classes=classes, layer1=layer1, layer2=layer2)
    notes = []
    tagless = [n['name'] for n in layer2 if n['visual'] and not n['tags']]
    if tagless:
        notes.append(f'visual classes without any tag (reachable only through their layer-1 group): {tagless}')
    if onto is None:
        notes.append(f'no ontology given: every unassigned tag is under the one non-visual node {default_node!r}')
    return tree, notes


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--labels', required=True, help="AudioSet class_labels_indices.csv (the tagger's tags)")
    parser.add_argument('--map', required=True, help='curated map (avsseg-av-curated-map/1 JSON)')
    parser.add_argument('--ontology', help="AudioSet ontology.json (for subtree entries and non-visual nodes)")
    parser.add_argument('--name', help='audio_labels.name of the tree (default: the csv file name)')
    parser.add_argument('-o', '--out', required=True, help='tree JSON to write')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        tree, notes = build_tree(args.labels, args.map, args.ontology, args.name)
        out_dir = osp.dirname(osp.abspath(args.out))
        os.makedirs(out_dir, exist_ok=True)
        tmp = args.out + '.tmp'
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(tree, f, indent=1)
            f.write('\n')
        checked = AudioVisualTree(tmp, label_csv=args.labels)
        os.replace(tmp, args.out)
    except (BuildError, AVTreeError, FileNotFoundError) as e:
        if osp.exists(args.out + '.tmp'):
            os.remove(args.out + '.tmp')
        print(f'build_av_tree: {e}', file=sys.stderr)
        return 1
    checked.source = args.out
    print(checked.counts_report())
    for note in notes:
        print(f'note: {note}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
