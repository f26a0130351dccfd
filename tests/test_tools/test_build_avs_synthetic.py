"""AVS-Synthetic pipeline end to end offline: toy sources -> build_avs_synthetic.py -> AVSSyntheticDataset, plus
the S4 few-shot / open-set subset tool.

The tools are imported as modules (run in-process: importing avsseg in a subprocess costs seconds per call).
"""
import csv
import importlib.util
import json
import os
import os.path as osp

import cv2
import pytest

from avsseg.datasets import AVSSyntheticDataset
from avsseg.datasets.transforms import LoadClipAnnotations, LoadClipAudioFromExample, LoadClipFrames, PackAVSInputs

TOOLS = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'dataset_converters')


def _load(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


builder = _load('build_avs_synthetic')
toy = _load('make_toy_avs_sources')
subset = _load('avsbench_subset')


@pytest.fixture(scope='module')
def sources(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('toy_sources'))
    return toy.write_sources(root, num_images=16, clips_per_label=2, image_size=48, seed=0)


def build_args(out, src, *extra, seg='coco'):
    seg_args = (['--seg-format', 'coco', '--seg-ann', src['coco_ann'], '--seg-images', src['coco_images']]
                if seg == 'coco' else ['--seg-format', 'png', '--seg-ann', src['png_csv']])
    return builder.parse_args([
        str(out), '--category-map', src['category_map'], *seg_args, '--seg-name', 'toy', '--audio-csv',
        src['audio_csv'], '--audio-dir', src['audio_dir'], '--test-size', '6', '--val-size', '3', '--quiet', *extra
    ])


def source_masks(src):
    """{(toy image id, category): union of its instance PNGs} from the PNG layout (the exact masks)."""
    out = {}
    with open(src['png_csv']) as f:
        for row in csv.DictReader(f):
            m = cv2.imread(osp.join(osp.dirname(src['png_csv']), row['mask_path']), cv2.IMREAD_GRAYSCALE) > 0
            key = (row['image_id'], row['category'])
            out[key] = out[key] | m if key in out else m
    return out


def audio_labels(src):
    with open(src['audio_csv']) as f:
        return {f'{r[0]}_{int(r[1]):06d}': (r[2], r[3]) for r in csv.reader(f)}


PIPELINE = [LoadClipFrames(), LoadClipAnnotations(), LoadClipAudioFromExample(start_example=1), PackAVSInputs()]


@pytest.mark.parametrize('seg', ['png', 'coco'])
def test_built_set_reads_back_with_matching_masks_and_audio(tmp_path, sources, seg):
    manifest = builder.build(build_args(tmp_path / 'out', sources, seg=seg))
    out = str(tmp_path / 'out')
    assert manifest['splits']['test'] >= 6 and manifest['splits']['val'] >= 3 and manifest['splits']['train'] > 0
    assert {c['name'] for c in manifest['categories']} <= {c for c in toy.AUDIO_LABELS if c != toy.UNMAPPED}
    truth, labels = source_masks(sources), audio_labels(sources)
    label_to_cat = {v: k for k, v in toy.AUDIO_LABELS.items()}
    for split in ('train', 'val', 'test'):
        ds = AVSSyntheticDataset(split=split, data_root=out, pipeline=PIPELINE, serialize_data=False)
        images = set()
        for idx in range(len(ds)):
            info = ds.get_data_info(idx)
            item = ds[idx]
            cat = info['category']
            gt = item['data_samples'][0].gt_sem_seg.data[0].numpy().astype(bool)
            source_id = info['image_id'][len('toy_'):]  # PNG layout: toy_00000; COCO: image id 1
            true = truth[(source_id if seg == 'png' else f'toy_{int(source_id) - 1:05d}', cat)]
            if seg == 'png' or cat not in toy.POLYGON_SHAPES:
                assert (gt == true).all(), info['clip_id']  # PNG and RLE masks are copied exactly
            else:  # traced through the boundary pixels' centres, a polygon loses about half a pixel all round,
                # much of a 48 px image's small shapes; the check is that it is this category's region
                assert (gt & true).sum() / (gt | true).sum() > 0.6 and (gt & ~true).sum() <= 2, info['clip_id']
            label, audio_split = labels[osp.splitext(osp.basename(item['data_samples'][0].audio_path))[0]]
            assert label_to_cat[label] == cat  # the audio is of the mask's category
            assert audio_split == ('train' if split == 'train' else 'test')  # no test audio in training
            images.add(info['image_id'])
        if split == 'test':
            test_images = images
        elif split == 'train':
            train_images = images
    assert not test_images & train_images
    table = manifest['table1_row']
    assert table['masks'] == sum(manifest['splits'].values()) and table['classes'] == len(manifest['categories'])
    assert manifest['filtering']['instances_unmapped'] > 0  # the hexagons
    if seg == 'coco':
        assert manifest['filtering']['samples_dropped_crowd'] > 0
    assert osp.islink(osp.join(out, 'audios', os.listdir(osp.join(out, 'audios'))[0]))


def test_instance_mode_one_row_per_instance(tmp_path, sources):
    manifest = builder.build(build_args(tmp_path / 'out', sources, '--mask-mode', 'instance', seg='png'))
    with open(sources['png_csv']) as f:
        mapped = sum(r['category'] != toy.UNMAPPED for r in csv.DictReader(f))
    assert manifest['table1_row']['masks'] == mapped
    with open(tmp_path / 'out' / 'annotations.csv') as f:
        rows = list(csv.DictReader(f))
    assert {r['mask_mode'] for r in rows} == {'instance'} and len({r['source_ids'] for r in rows}) == len(rows)


def test_deterministic_and_resumable(tmp_path, sources):
    a, b = tmp_path / 'a', tmp_path / 'b'
    builder.build(build_args(a, sources))
    builder.build(build_args(b, sources))
    csv_a = (a / 'annotations.csv').read_bytes()
    assert csv_a == (b / 'annotations.csv').read_bytes()
    # a crash after some samples: no index files, some masks missing, a stale temp file
    masks = sorted(os.listdir(b / 'masks'))
    for name in masks[::2]:
        os.remove(b / 'masks' / name)
    for name in ('annotations.csv', 'build_manifest.json'):
        os.remove(b / name)
    (b / 'masks' / 'half.png.tmp').write_bytes(b'\x89PNG')
    kept = {n: (b / 'masks' / n).stat().st_mtime_ns for n in masks[1::2]}
    with pytest.raises(builder.BuildError, match='not empty.*--resume'):
        builder.build(build_args(b, sources))
    manifest = builder.build(build_args(b, sources, '--resume'))
    assert manifest['resumed_samples'] == len(kept)
    assert (b / 'annotations.csv').read_bytes() == csv_a
    assert sorted(n for n in os.listdir(b / 'masks') if n.endswith('.png')) == masks
    assert all((b / 'masks' / n).stat().st_mtime_ns == t for n, t in kept.items())  # nothing rewritten
    for name in masks:
        assert (a / 'masks' / name).read_bytes() == (b / 'masks' / name).read_bytes()
    with pytest.raises(builder.BuildError, match='differ from those of the build'):
        builder.build(build_args(b, sources, '--resume', '--seed', '3'))


def test_errors_name_the_file(tmp_path, sources):
    cmap = json.load(open(sources['category_map']))
    cmap['categories'][0]['audio'].append('disc squeaking')
    cmap['categories'][1]['segmentation'].append('squircle')
    bad_map = tmp_path / 'map.json'
    bad_map.write_text(json.dumps(cmap))
    args = build_args(tmp_path / 'o1', sources)
    args.category_map = str(bad_map)
    with pytest.raises(builder.BuildError, match=r"(?s)map.json names 2.*'squircle'.*'disc squeaking'"):
        builder.build(args)
    rows = list(csv.reader(open(sources['audio_csv'])))
    missing_csv = tmp_path / 'audio.csv'
    with open(missing_csv, 'w', newline='') as f:
        csv.writer(f).writerows(rows + [['nosuchclip', '5', rows[0][2], 'train']])
    args = build_args(tmp_path / 'o2', sources)
    args.audio_csv = str(missing_csv)
    with pytest.raises(builder.BuildError, match='nosuchclip_000005.wav'):
        builder.build(args)
    args = build_args(tmp_path / 'o3', sources)
    args.seg_images = str(tmp_path / 'nowhere')
    with pytest.raises(builder.BuildError, match='nowhere/toy_000'):
        builder.build(args)
    with pytest.raises(builder.BuildError, match='not enough samples for split test'):
        builder.build(build_args(tmp_path / 'o4', sources, '--test-size', '100000'))


def _s4_csv(path, per_cat=10, cats=23):
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['name', 'start', 'category', 'split'])
        for c in range(cats):
            for k in range(per_cat):
                w.writerow([f'v{c}_{k}', 0, f'cat{c:02d}', ('train', 'train', 'train', 'val', 'test')[k % 5]])
    return str(path)


def test_few_shot_subsets_nested_and_seeded(tmp_path):
    src = _s4_csv(tmp_path / 's4.csv')
    trains = {}
    for ratio in (0.1, 0.2, 0.3, 1.0):
        out = tmp_path / f'fs{ratio}.csv'
        subset.main(['few-shot', src, str(out), '--ratio', str(ratio), '--seed', '0'])
        rows = list(csv.reader(open(out)))[1:]
        trains[ratio] = [r[0] for r in rows if r[3] == 'train']
        assert sum(r[3] != 'train' for r in rows) == 23 * 4  # val/test untouched
    assert [len(trains[r]) for r in (0.1, 0.2, 0.3, 1.0)] == [13, 27, 41, 138]
    assert set(trains[0.1]) < set(trains[0.2]) < set(trains[0.3]) < set(trains[1.0])
    subset.main(['few-shot', src, str(tmp_path / 'again.csv'), '--ratio', '0.1', '--seed', '0'])
    subset.main(['few-shot', src, str(tmp_path / 'other.csv'), '--ratio', '0.1', '--seed', '1'])
    again = [r[0] for r in list(csv.reader(open(tmp_path / 'again.csv')))[1:] if r[3] == 'train']
    other = [r[0] for r in list(csv.reader(open(tmp_path / 'other.csv')))[1:] if r[3] == 'train']
    assert again == trains[0.1] and set(other) != set(again)


def test_open_set_split(tmp_path):
    src = _s4_csv(tmp_path / 's4.csv')
    subset.main(['open-set', src, str(tmp_path / 'os'), '--num-seen', '11', '--seed', '0'])
    split = json.load(open(tmp_path / 'os_split.json'))
    assert len(split['seen']) == 11 and len(split['unseen']) == 12 and not set(split['seen']) & set(split['unseen'])
    seen = list(csv.reader(open(tmp_path / 'os_seen.csv')))
    unseen = list(csv.reader(open(tmp_path / 'os_unseen.csv')))
    assert seen[0] == unseen[0] == ['name', 'start', 'category', 'split']
    assert {r[2] for r in seen[1:]} == set(split['seen']) and len(seen) - 1 + len(unseen) - 1 == 230
    subset.main(['open-set', src, str(tmp_path / 'os2'), '--num-seen', '11', '--seed', '0'])
    assert json.load(open(tmp_path / 'os2_split.json')) == split
    with pytest.raises(SystemExit, match='--num-seen'):
        subset.main(['open-set', src, str(tmp_path / 'os3'), '--num-seen', '23'])
