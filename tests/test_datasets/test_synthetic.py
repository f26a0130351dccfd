"""The embedded synthetic AVSBench-style dataset: layouts, masks, audio, determinism, CLI, dataset readers."""
import csv
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio

from avsseg.datasets.synthetic import (CATEGORIES, NOISE_FLOOR_RMS, SAMPLE_RATE, SILENT_CATEGORY, avss_label2idx,
                                       generate_clip, generate_synthetic_avsbench, object_proposals, plan_clips,
                                       sample_scene, synthesize_clip_audio)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLI = osp.join(REPO, 'tools', 'dataset_converters', 'synthetic_avsbench.py')
SIZE = 64
COLOURS = np.array([c.colour for c in CATEGORIES], np.float64)
NAMES = [c.name for c in CATEGORIES]


def _generate(root, subset, num_videos, **kwargs):
    kwargs.setdefault('silent_ratio', 0.25)
    return generate_synthetic_avsbench(str(root), subset, seed=3, num_videos=num_videos, image_size=SIZE, **kwargs)


@pytest.fixture(scope='module')
def s4(tmp_path_factory):
    return _generate(tmp_path_factory.mktemp('s4'), 's4', 8)


@pytest.fixture(scope='module')
def ms3(tmp_path_factory):
    return _generate(tmp_path_factory.mktemp('ms3'), 'ms3', 8)


@pytest.fixture(scope='module')
def avss(tmp_path_factory):
    return _generate(tmp_path_factory.mktemp('avss'), 'avss', 12)


def _all_files(root):
    out = set()
    for dirpath, _, files in os.walk(root):
        out.update(osp.relpath(osp.join(dirpath, f), root) for f in files)
    return out


def _read_csv(path):
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def _check_wav(path, seconds):
    info = sf.info(path)
    expected = (SAMPLE_RATE, 1, 'PCM_16', seconds * SAMPLE_RATE)
    assert (info.samplerate, info.channels, info.subtype, info.frames) == expected


def _rms(path):
    wave, _ = sf.read(path, dtype='float32')
    return float(np.sqrt(np.mean(wave**2)))


def _read_gray(path):
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert img is not None and img.ndim == 2, f'{path} is not a single-channel image'
    return img


def test_s4_layout(s4):
    root = s4['data_root']
    header, rows = _read_csv(osp.join(root, 's4_meta_data.csv'))
    assert header == ['name', 'start', 'category', 'split']
    assert len(rows) == 8 and all(len(r) == 4 for r in rows)
    assert {r[3] for r in rows} == {'train', 'val', 'test'}
    expected = {'s4_meta_data.csv', 'synthetic_s4.json'}
    for row, clip in zip(rows, s4['clips']):
        name, _, category, split = row
        assert (name, category, split) == (clip['name'], clip['category'], clip['split'])
        assert category == (clip['sounding'][0] if clip['sounding'] else SILENT_CATEGORY)
        frame_dir = f's4_data/visual_frames/{split}/{category}/{name}'
        mask_dir = f's4_data/gt_masks/{split}/{category}/{name}'
        frames = {f'{frame_dir}/{name}_{k}.png' for k in range(1, 6)}
        masks = {f'{mask_dir}/{name}_{k}.png' for k in ([1] if split == 'train' else range(1, 6))}
        wav = f's4_data/audio_wav/{split}/{category}/{name}.wav'
        expected |= frames | masks | {wav}
        for f in frames:
            img = cv2.imread(osp.join(root, f), cv2.IMREAD_UNCHANGED)
            assert img.shape == (SIZE, SIZE, 3) and img.dtype == np.uint8
        for f in masks:
            assert set(np.unique(_read_gray(osp.join(root, f)))) <= {0, 255}
        _check_wav(osp.join(root, wav), 5)
    assert _all_files(root) == expected
    assert s4['num_files'] == len(expected)


def test_ms3_layout(ms3):
    root = ms3['data_root']
    header, rows = _read_csv(osp.join(root, 'ms3_meta_data.csv'))
    assert header == ['name', 'start', 'split']
    expected = {'ms3_meta_data.csv', 'synthetic_ms3.json'}
    for row, clip in zip(rows, ms3['clips']):
        name, split = row[0], row[2]
        assert (name, split) == (clip['name'], clip['split'])
        expected |= {f'ms3_data/visual_frames/{name}/{name}.mp4_{i}.png' for i in range(1, 6)}
        expected |= {f'ms3_data/gt_masks/{split}/{name}/{name}_{i}.png' for i in range(1, 6)}
        expected.add(f'ms3_data/audio_wav/{split}/{name}.wav')
        _check_wav(osp.join(root, f'ms3_data/audio_wav/{split}/{name}.wav'), 5)
    assert _all_files(root) == expected
    counts = [len(c['sounding']) for c in ms3['clips'] if not c['silent']]
    assert set(counts) <= {1, 2, 3}


def test_avss_layout(avss):
    root = avss['data_root']
    header, rows = _read_csv(osp.join(root, 'metadata.csv'))
    assert header == ['vid', 'uid', 's_min', 's_sec', 'a_obj', 'split', 'label']
    with open(osp.join(root, 'label2idx.json')) as f:
        label2idx = json.load(f)
    assert label2idx['background'] == 0
    assert sorted(label2idx.values()) == list(range(len(CATEGORIES) + 1))
    assert {label2idx[c.name] for c in CATEGORIES} == set(range(1, len(CATEGORIES) + 1))
    # The tiny set still covers every AVSS subset, and v1s in train (label on frame 0 only).
    assert {(r[6], r[5]) for r in rows} >= {('v1s', 'train'), ('v1m', 'train'), ('v2', 'train')}
    expected = {'metadata.csv', 'label2idx.json', 'synthetic_avss.json'}
    for row, clip in zip(rows, avss['clips']):
        vid, uid, _, _, a_obj, split, label = row
        assert (uid, split, label) == (clip['uid'], clip['split'], clip['label'])
        assert a_obj == (', '.join(clip['sounding']) if clip['sounding'] else SILENT_CATEGORY)
        num = 10 if label == 'v2' else 5
        labelled = [0] if (label, split) == ('v1s', 'train') else list(range(num))
        base = f'{label}/{uid}'
        expected |= {f'{base}/frames/{i}.jpg' for i in range(num)} | {f'{base}/audio.wav'}
        expected |= {f'{base}/labels_semantic/{i}.png' for i in labelled}
        expected |= {f'{base}/labels_rgb/{i}.png' for i in labelled}
        _check_wav(osp.join(root, base, 'audio.wav'), num)
        assert cv2.imread(osp.join(root, base, 'frames', '0.jpg')).shape == (SIZE, SIZE, 3)
    assert _all_files(root) == expected


def test_avss_rgb_labels_match_semantic(avss):
    from avsseg.datasets import avss_palette
    palette = np.asarray(avss_palette(len(CATEGORIES) + 1))
    root, seen = avss['data_root'], set()
    for clip in avss['clips']:
        for k, rel in clip['paths']['labels'].items():
            index = _read_gray(osp.join(root, rel))
            rgb = cv2.imread(osp.join(root, clip['paths']['labels_rgb'][k]))[..., ::-1]
            np.testing.assert_array_equal(rgb, palette[index])
            seen |= set(np.unique(index).tolist())
            # Only the sounding categories' classes (and background) appear.
            allowed = {0} | {avss_label2idx()[n] for n in clip['sounding']}
            assert set(np.unique(index).tolist()) <= allowed
    assert len(seen) > 2


@pytest.mark.parametrize('subset', ['s4', 'ms3', 'avss'])
def test_masks_are_exactly_the_visible_sounding_pixels(subset):
    """In-memory rendering: masks vs the instance maps, and the instance maps vs the pixels' colours."""
    plan = plan_clips(subset, 10, seed=5, silent_ratio=0.0)
    class_idx = avss_label2idx()
    for clip in plan[:6]:
        out = generate_clip(subset, clip, seed=5, image_size=SIZE)
        inst, objects = out['instance_maps'], out['objects']
        assert inst.shape == (clip['num_frames'], SIZE, SIZE)
        for t in range(clip['num_frames']):
            expected = np.zeros((SIZE, SIZE), np.uint8)
            for i, obj in enumerate(objects):
                if obj['sounding']:
                    expected[inst[t] == i] = class_idx[obj['category']] if subset == 'avss' else 1
                assert obj['visible_pixels'][t] == int((inst[t] == i).sum())
            np.testing.assert_array_equal(out['label_maps'][t], expected)
            # Independent of the instance maps: labelled pixels show a sounding category's colour (nearest
            # category chromaticity, which shading does not change), the other object pixels do not.
            frame = out['frames'][t].astype(np.float64)
            chroma = frame / np.maximum(frame.sum(-1, keepdims=True), 1)
            ref = COLOURS / COLOURS.sum(-1, keepdims=True)
            nearest = np.argmin(((chroma[:, :, None, :] - ref[None, None])**2).sum(-1), axis=-1)
            sounding = [NAMES.index(n) for n in out['sounding']]
            on_object = inst[t] >= 0
            labelled = out['label_maps'][t] > 0
            assert labelled.any()
            assert np.isin(nearest[labelled], sounding).mean() > 0.97
            if (on_object & ~labelled).any():
                assert np.isin(nearest[on_object & ~labelled], sounding).mean() < 0.03


@pytest.mark.parametrize('name', ['s4', 'ms3', 'avss'])
def test_scene_content(name, s4, ms3, avss):
    summary = dict(s4=s4, ms3=ms3, avss=avss)[name]
    assert any(c['silent'] for c in summary['clips']) and not all(c['silent'] for c in summary['clips'])
    for clip in summary['clips']:
        cats = [o['category'] for o in clip['objects']]
        assert len(set(cats)) == len(cats), 'objects of one clip must have distinct categories'
        assert sorted(o['category'] for o in clip['objects'] if o['sounding']) == sorted(clip['sounding'])
        single = name == 's4' or clip.get('label') == 'v1s'
        if clip['silent']:
            assert clip['sounding'] == [] and len(cats) >= 2
            continue
        assert len(clip['sounding']) == 1 if single else 1 <= len(clip['sounding']) <= 3
        for t in range(clip['num_frames']):
            assert all(o['visible_pixels'][t] > 0 for o in clip['objects'] if o['sounding'])
            assert any(o['visible_pixels'][t] > 0 for o in clip['objects'] if not o['sounding'])
        # Objects move across the clip.
        for o in clip['objects']:
            assert np.hypot(*np.subtract(o['centers'][-1], o['centers'][0])) > 1.0


@pytest.mark.parametrize('name', ['s4', 'ms3', 'avss'])
def test_silent_clips_have_empty_masks_and_quiet_audio(name, s4, ms3, avss):
    summary = dict(s4=s4, ms3=ms3, avss=avss)[name]
    root = summary['data_root']
    for clip in summary['clips']:
        masks = [_read_gray(osp.join(root, p)) for p in clip['paths']['labels'].values()]
        rms = _rms(osp.join(root, clip['paths']['audio']))
        if clip['silent']:
            assert all(m.max() == 0 for m in masks)
            assert rms < 3 * NOISE_FLOOR_RMS
        else:
            assert rms > 100 * NOISE_FLOOR_RMS
            # The labelled frames of a sounding clip mark something.
            assert all(m.max() > 0 for m in masks)


# VGGish's front end (64 mel bands, 125-7500 Hz, 25 ms window, 10 ms hop), then log(mel + 0.01).
MEL = torchaudio.transforms.MelSpectrogram(
    SAMPLE_RATE, n_fft=512, win_length=400, hop_length=160, center=False, power=1.0, f_min=125, f_max=7500,
    n_mels=64, mel_scale='htk', norm=None)


def _log_mel_features(wave):
    """Mean and std over time of each mel band: ``[128]``."""
    log_mel = torch.log(MEL(torch.from_numpy(wave)) + 0.01)  # [64, frames]
    return torch.cat([log_mel.mean(1), log_mel.std(1)])


def test_category_sounds_are_distinct():
    feats, labels = [], []
    for j, cat in enumerate(CATEGORIES):
        for i in range(3):
            wave, info = synthesize_clip_audio([cat], 2, np.random.default_rng([j, i]))
            assert info[0]['category'] == cat.name
            feats.append(_log_mel_features(wave))
            labels.append(j)
    feats, labels = torch.stack(feats), torch.tensor(labels)
    dist = torch.cdist(feats, feats) / feats.shape[1]**0.5
    same = labels[:, None] == labels[None]
    dist.fill_diagonal_(float('inf'))
    # Every clip's nearest other clip has its category, with a margin.
    nearest_same = torch.where(same, dist, torch.full_like(dist, float('inf'))).min(1).values
    nearest_other = torch.where(~same, dist, torch.full_like(dist, float('inf'))).min(1).values
    assert (nearest_same < 0.9 * nearest_other).all(), (nearest_same, nearest_other)
    # The mean log-mel spectra of any two categories differ clearly.
    means = torch.stack([feats[labels == j, :64].mean(0) for j in range(len(CATEGORIES))])
    diffs = (means[:, None] - means[None]).abs().amax(-1)
    diffs.fill_diagonal_(float('inf'))
    assert diffs.min() > 1.0


def test_written_audio_matches_its_category(s4):
    """The S4 wav of a clip is closer to a fresh rendering of its own category than of any other one."""
    root = s4['data_root']
    refs = torch.stack([_log_mel_features(synthesize_clip_audio([c], 5, np.random.default_rng(99))[0])
                        for c in CATEGORIES])
    for clip in s4['clips']:
        if clip['silent']:
            continue
        wave, _ = sf.read(osp.join(root, clip['paths']['audio']), dtype='float32')
        d = ((refs - _log_mel_features(wave))**2).mean(1)
        assert NAMES[int(d.argmin())] == clip['category']


def test_sounding_and_silent_objects_look_alike_in_size_position_and_depth():
    """Nothing visual separates sounding from silent objects: size, position and draw order match."""
    rng = np.random.default_rng(0)
    stats = {True: dict(r=[], x=[], top=[]), False: dict(r=[], x=[], top=[])}
    for _ in range(150):
        idx = rng.choice(len(CATEGORIES), 3, replace=False)
        scene, _, _ = sample_scene(rng, [CATEGORIES[idx[0]]], [CATEGORIES[i] for i in idx[1:]], 48, 2)
        for rank, obj in enumerate(scene.objects):
            stats[obj.sounding]['r'].append(obj.radii[0])
            stats[obj.sounding]['x'].append(obj.centers[0][0])
            stats[obj.sounding]['top'].append(rank == len(scene.objects) - 1)
    for key, tol in (('r', 0.08), ('x', 0.08)):
        a, b = np.mean(stats[True][key]), np.mean(stats[False][key])
        assert abs(a - b) < tol * b, (key, a, b)
    # One sounding object among three is drawn on top about a third of the time.
    assert abs(np.mean(stats[True]['top']) - 1 / 3) < 0.12


def test_deterministic_for_a_seed(tmp_path, s4):
    again = _generate(tmp_path / 'again', 's4', 8)
    files = _all_files(s4['data_root'])
    assert files == _all_files(again['data_root'])
    for rel in files:
        with open(osp.join(s4['data_root'], rel), 'rb') as f1, open(osp.join(again['data_root'], rel), 'rb') as f2:
            assert f1.read() == f2.read(), rel
    other = generate_synthetic_avsbench(str(tmp_path / 'other'), 's4', seed=4, num_videos=8, image_size=SIZE,
                                        silent_ratio=0.25)
    assert [c['objects'] for c in other['clips']] != [c['objects'] for c in s4['clips']]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='subset'):
        generate_synthetic_avsbench(str(tmp_path / 'a'), 'ms4')
    with pytest.raises(ValueError, match='num_videos'):
        generate_synthetic_avsbench(str(tmp_path / 'b'), 's4', num_videos=2)
    with pytest.raises(ValueError, match='silent_ratio'):
        generate_synthetic_avsbench(str(tmp_path / 'c'), 's4', num_videos=3, silent_ratio=1.0)
    (tmp_path / 'd').mkdir()
    (tmp_path / 'd' / 'keep.txt').write_text('x')
    with pytest.raises(FileExistsError, match='not empty'):
        generate_synthetic_avsbench(str(tmp_path / 'd'), 's4', num_videos=3, image_size=SIZE)
    summary = generate_synthetic_avsbench(str(tmp_path / 'd'), 's4', num_videos=3, image_size=SIZE, overwrite=True)
    assert (tmp_path / 'd' / 'keep.txt').exists() and summary['splits'] == dict(train=1, val=1, test=1)


def test_cli(tmp_path):
    out = tmp_path / 'cli'
    args = [str(out), '--subset', 'ms3', '--num-videos', '4', '--image-size', '48', '--seed', '1']
    res = subprocess.run([sys.executable, CLI] + args + ['--workers', '2'], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert res.returncode == 0, res.stderr
    assert 'data_root' in res.stdout and 'train:' in res.stdout
    _, rows = _read_csv(out / 'ms3_meta_data.csv')
    assert len(rows) == 4
    # Two worker processes write exactly what one process writes.
    ref = generate_synthetic_avsbench(str(tmp_path / 'ref'), 'ms3', seed=1, num_videos=4, image_size=48)
    assert _all_files(out) == _all_files(ref['data_root'])
    for rel in _all_files(out):
        with open(osp.join(out, rel), 'rb') as f1, open(osp.join(ref['data_root'], rel), 'rb') as f2:
            assert f1.read() == f2.read(), rel
    args += ['--workers', '1']
    # The same CLI in-process: a non-empty OUT_DIR is refused without --overwrite, with a clear message.
    spec = importlib.util.spec_from_file_location('synthetic_avsbench_cli', CLI)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    with pytest.raises(SystemExit, match='--overwrite'):
        cli.main(args)
    cli.main(args + ['--overwrite'])
    assert len(_read_csv(out / 'ms3_meta_data.csv')[1]) == 4


@pytest.mark.parametrize('name', ['s4', 'ms3', 'avss'])
def test_dataset_classes_read_the_synthetic_layout(name, s4, ms3, avss):
    from avsseg.datasets import AVSBenchMS3Dataset, AVSBenchS4Dataset, AVSBenchSemanticDataset
    from avsseg.datasets.transforms import LoadClipAnnotations, LoadClipAudio, LoadClipFrames, PackAVSInputs
    summary = dict(s4=s4, ms3=ms3, avss=avss)[name]
    cls = dict(s4=AVSBenchS4Dataset, ms3=AVSBenchMS3Dataset, avss=AVSBenchSemanticDataset)[name]
    root = summary['data_root']
    pipeline = [LoadClipFrames(), LoadClipAnnotations(), LoadClipAudio(), PackAVSInputs()]
    for split in ('train', 'test'):
        ds = cls(split=split, data_root=root, pipeline=pipeline)
        clips = {c['name']: c for c in summary['clips'] if c['split'] == split}
        assert len(ds) == len(clips)
        for idx in range(min(len(ds), 3)):
            info = ds.get_data_info(idx)
            clip = clips[info['clip_id']]
            assert info['audio_path'].endswith('.wav')
            item = ds[idx]
            frames, audio = item['inputs']['frames'], item['inputs']['audio']
            num = info['num_frames']
            assert frames.shape == (num, 3, SIZE, SIZE) and audio.shape == (num, 1, 96, 64)
            real = clip['num_frames']
            for t in range(num):
                gt = item['data_samples'][t].gt_sem_seg.data[0].numpy()
                if t in clip['paths']['labels']:
                    ref = _read_gray(osp.join(root, clip['paths']['labels'][t]))
                    np.testing.assert_array_equal(gt, ref if name == 'avss' else (ref > 0))
                elif t < real:
                    assert (gt == 255).all()
            if name == 'avss':
                assert info['frame_flags']['is_padded'] == [t >= real for t in range(num)]
    if name == 'avss':
        assert ds.metainfo['classes'] == ('background', ) + tuple(NAMES)


def test_object_proposals_cover_every_object_and_the_background():
    rng = np.random.default_rng(0)
    cats = list(CATEGORIES[:3])
    scene_inst = sample_scene(rng, cats[:1], cats[1:], SIZE, 2)[1]
    props = object_proposals(scene_inst[0])
    visible = [i for i in range(3) if (scene_inst[0] == i).any()]
    assert props.dtype == bool and props.shape == (len(visible) + 1, SIZE, SIZE)
    # a partition of the frame: each pixel in exactly one proposal, objects first, then the background
    assert (props.sum(0) == 1).all()
    for k, i in enumerate(visible):
        assert (props[k] == (scene_inst[0] == i)).all()
    assert (props[-1] == (scene_inst[0] == -1)).all()
    assert object_proposals(np.zeros((4, 4), np.int16)).shape == (1, 4, 4)  # one object filling the frame


@pytest.mark.parametrize('subset', ['s4', 'ms3', 'avss'])
def test_maskiges_are_written_in_the_official_layout(tmp_path, subset):
    from avsseg.datasets.maskige import maskige_path, masks_to_maskige, read_maskige
    summary = _generate(tmp_path / subset, subset, 4, maskige=True)
    assert summary['maskige'] is True
    root = summary['data_root']
    plain = _generate(tmp_path / 'plain', subset, 4)
    # Maskiges are extra files only: everything else is byte-identical to a set generated without them.
    files = _all_files(root)
    maskiges = {f for f in files if f.endswith('_mask_color.png')}
    assert files - maskiges == _all_files(plain['data_root'])
    assert summary['num_files'] == plain['num_files'] + len(maskiges)
    for clip in summary['clips']:
        rendered = generate_clip(subset, clip, 3, SIZE)  # the same clip, rendered in memory
        assert len(clip['paths']['maskiges']) == clip['num_frames']
        for t, (frame, rel) in enumerate(zip(clip['paths']['frames'], clip['paths']['maskiges'])):
            assert osp.join(root, rel) == maskige_path(osp.join(root, frame))
            assert 'pre_SAM_mask' in rel
            expected = masks_to_maskige(object_proposals(rendered['instance_maps'][t]))
            assert (read_maskige(osp.join(root, rel)) == expected).all()
    assert len(maskiges) == sum(c['num_frames'] for c in summary['clips'])
    # --overwrite removes the old Maskige tree with the rest of the layout
    again = generate_synthetic_avsbench(root, subset, seed=5, num_videos=3, image_size=SIZE, overwrite=True)
    assert not any(f.endswith('_mask_color.png') for f in _all_files(root)) and not again['maskige']


def test_maskiges_need_a_data_root():
    clip = plan_clips('s4', 3, 0, 0.0)[0]
    with pytest.raises(ValueError, match='data_root'):
        generate_clip('s4', clip, 0, SIZE, maskige=True)


def test_loadclipmaskige_reads_the_synthetic_maskiges(tmp_path):
    from avsseg.datasets import AVSBenchS4Dataset
    from avsseg.datasets.transforms import LoadClipAnnotations, LoadClipFrames, LoadClipMaskige
    summary = _generate(tmp_path / 's4', 's4', 4, maskige=True)
    ds = AVSBenchS4Dataset(
        data_root=summary['data_root'], split='test', test_mode=True,
        pipeline=[LoadClipFrames(), LoadClipMaskige(), LoadClipAnnotations()])
    results = ds[0]
    assert len(results['maskige']) == 5
    assert all(m.shape == (SIZE, SIZE, 3) and m.dtype == np.uint8 for m in results['maskige'])
