"""AVSBench S4 / MS3 / semantic readers on tiny fake releases in the official layouts (see conftest.py)."""
import os
import os.path as osp
import warnings
from functools import partial

import numpy as np
import pytest
import soundfile as sf
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from avsseg.datasets import AVSBenchMS3Dataset, AVSBenchS4Dataset, AVSBenchSemanticDataset, avss_palette
from avsseg.datasets.audio import AudioPaddingWarning, clip_log_mel, load_audio, to_mono_16k
from avsseg.datasets.transforms import LoadClipAnnotations, LoadClipAudio, LoadClipFrames, avs_collate
from avsseg.models.data_preprocessor import AVSDataPreprocessor
from avsseg.registry import DATASETS, METRICS

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets')
# mmengine serialises the data list after a full gc.collect() (~0.5 s with torch loaded); the config tests keep
# the default serialised path, the others skip it to stay fast.
S4Dataset = partial(AVSBenchS4Dataset, serialize_data=False)
MS3Dataset = partial(AVSBenchMS3Dataset, serialize_data=False)
SemanticDataset = partial(AVSBenchSemanticDataset, serialize_data=False)
LOADERS = [LoadClipFrames(), LoadClipAnnotations(), LoadClipAudio()]


def _wave(path):
    return to_mono_16k(*load_audio(path))


# ----------------------------------------------------------------------------------------------- S4
def test_s4_train_clip_dict_and_flags(s4_root):
    ds = S4Dataset(split='train', data_root=s4_root)
    assert len(ds) == 3 and ds.metainfo['classes'] == ('background', 'object')
    info = ds.get_data_info(0)
    assert info['clip_id'] == 's4a' and info['category'] == 'guitar' and info['num_frames'] == 5
    assert info['img_paths'] == [
        osp.join(s4_root, 's4_data', 'visual_frames', 'train', 'guitar', 's4a', f's4a_{k}.png') for k in range(1, 6)
    ]
    # S4 training supervises frame 1 only
    assert info['seg_map_paths'][0].endswith(osp.join('gt_masks', 'train', 'guitar', 's4a', 's4a_1.png'))
    assert info['seg_map_paths'][1:] == [None] * 4
    assert info['frame_flags'] == dict(is_labeled=[True] + [False] * 4, is_padded=[False] * 5)
    assert info['label_format'] == 'binary' and info['subset'] == 's4'
    # 'auto' prefers the official .pkl log-mel
    assert info['audio_path'].endswith(osp.join('audio_log_mel', 'train', 'guitar', 's4a.pkl'))
    assert 'audio_perturbation' not in info


def test_s4_val_labels_all_frames_and_audio_source(s4_root):
    ds = S4Dataset(split='val', data_root=s4_root, audio_source='wav')
    info = ds.get_data_info(0)
    assert len(ds) == 1 and info['clip_id'] == 's4d'
    assert info['frame_flags']['is_labeled'] == [True] * 5
    assert [osp.basename(p) for p in info['seg_map_paths']] == [f's4d_{k}.png' for k in range(1, 6)]
    assert info['audio_path'].endswith(osp.join('audio_wav', 'val', 'dog', 's4d.wav'))


def test_s4_item_through_loaders(s4_root, fake):
    ds = S4Dataset(split='train', data_root=s4_root, pipeline=LOADERS)
    item = ds[1]
    assert len(item['imgs']) == 5 and item['imgs'][0].shape == (fake.SIZE, fake.SIZE, 3)
    np.testing.assert_array_equal(item['imgs'][2], fake.frame_array(1, 2))  # PNG is lossless, RGB order kept
    np.testing.assert_array_equal(item['gt_seg_maps'][0], fake.mask_array(0) // 255)
    assert all((m == 255).all() for m in item['gt_seg_maps'][1:])  # unlabelled frames -> ignore_index
    assert item['audio'].shape == (5, 1, 96, 64) and item['audio'].dtype == np.float32
    with open(item['audio_path'], 'rb') as f:
        import pickle
        np.testing.assert_allclose(item['audio'], pickle.load(f).numpy())


def test_s4_wav_only_release_uses_wav_in_auto_mode(tmp_path, fake):
    root = fake.make_s4(tmp_path / 'Single-source', pkl=False)
    ds = S4Dataset(split='test', data_root=root, pipeline=[LoadClipAudio()])
    assert ds.get_data_info(0)['audio_path'].endswith('.wav')
    audio = ds[0]['audio']
    np.testing.assert_allclose(audio, clip_log_mel(_wave(ds.get_data_info(0)['audio_path']), 5), atol=1e-6)
    with pytest.raises(FileNotFoundError, match=r's4e\.pkl'):
        S4Dataset(split='test', data_root=root, audio_source='pkl')


# ----------------------------------------------------------------------------------------------- MS3
def test_ms3_layout_and_all_frames_labelled(ms3_root, fake):
    ds = MS3Dataset(split='train', data_root=ms3_root, audio_source='wav', pipeline=LOADERS)
    assert len(ds) == 2
    info = ds.get_data_info(1)
    assert info['clip_id'] == 'ms3b' and info['category'] is None
    assert info['img_paths'][0] == osp.join(ms3_root, 'ms3_data', 'visual_frames', 'ms3b', 'ms3b.mp4_1.png')
    assert info['seg_map_paths'][4] == osp.join(ms3_root, 'ms3_data', 'gt_masks', 'train', 'ms3b', 'ms3b_5.png')
    assert info['frame_flags']['is_labeled'] == [True] * 5
    item = ds[1]
    for t in range(5):
        np.testing.assert_array_equal(item['gt_seg_maps'][t], fake.mask_array(t) // 255)
    # 44.1 kHz stereo wav -> 16 kHz mono -> 5 VGGish examples
    assert item['audio'].shape == (5, 1, 96, 64) and np.isfinite(item['audio']).all()


# ----------------------------------------------------------------------------------------------- AVSS
def test_avss_flags_padding_and_metainfo(avss_root):
    ds = SemanticDataset(split='train', data_root=avss_root)
    meta = ds.metainfo
    assert len(meta['classes']) == 71 and meta['classes'][0] == 'background' and meta['classes'][70] == 'class_70'
    assert meta['palette'][0] == [0, 0, 0] and meta['palette'][1] == [128, 0, 0] and meta['palette'][2] == [0, 128, 0]
    assert meta['palette'][3] == [128, 128, 0] and meta['palette'][8] == [64, 0, 0]
    by_id = {ds.get_data_info(i)['clip_id']: ds.get_data_info(i) for i in range(len(ds))}
    assert sorted(by_id) == ['u1', 'u2', 'u3']
    v1s, v1m, v2 = by_id['u1'], by_id['u2'], by_id['u3']
    for info in (v1s, v1m, v2):
        assert info['num_frames'] == 10 and len(info['img_paths']) == 10 and info['label_format'] == 'index'
    assert v1s['frame_flags'] == dict(is_labeled=[True] + [False] * 9, is_padded=[False] * 5 + [True] * 5)
    assert v1s['img_paths'][5:] == [None] * 5 and v1s['seg_map_paths'][1:] == [None] * 9
    assert v1s['img_paths'][4] == osp.join(avss_root, 'v1s', 'u1', 'frames', '4.jpg')
    assert v1m['frame_flags'] == dict(is_labeled=[True] * 5 + [False] * 5, is_padded=[False] * 5 + [True] * 5)
    assert v1m['seg_map_paths'][4] == osp.join(avss_root, 'v1m', 'u2', 'labels_semantic', '4.png')
    assert v2['frame_flags'] == dict(is_labeled=[True] * 10, is_padded=[False] * 10)
    assert v1m['subset'] == 'v1m' and v1m['category'] == 'man, piano'
    assert v1m['audio_path'] == osp.join(avss_root, 'v1m', 'u2', 'audio.wav')

    val = SemanticDataset(split='val', data_root=avss_root).get_data_info(0)
    assert val['frame_flags']['is_labeled'] == [True] * 5 + [False] * 5  # v1s val/test: all 5 labelled


def test_avss_subsets_and_no_padding(avss_root):
    ds = SemanticDataset(split='train', data_root=avss_root, subsets=('v2', ), max_frames=None)
    assert len(ds) == 1 and ds.get_data_info(0)['clip_id'] == 'u3' and ds.get_data_info(0)['num_frames'] == 10
    ds = SemanticDataset(split='train', data_root=avss_root, subsets=('v1s', 'v1m'), max_frames=None)
    assert [ds.get_data_info(i)['num_frames'] for i in range(len(ds))] == [5, 5]
    with pytest.raises(ValueError, match='max_frames=5 is shorter than the 10 frames of v2 clip u3'):
        SemanticDataset(split='train', data_root=avss_root, max_frames=5)
    with pytest.raises(ValueError, match='subsets'):
        SemanticDataset(split='train', data_root=avss_root, subsets=('v3', ))
    with pytest.raises(ValueError, match=r"no clips of subsets \('v1m',\)"):
        SemanticDataset(split='test', data_root=avss_root, subsets=('v1m', ))


def test_avss_items_semantic_and_rgb_labels_agree(avss_root, fake):
    items = {}
    for source in ('semantic', 'rgb'):
        pipeline = LOADERS if source == 'semantic' else LOADERS[:2]
        ds = SemanticDataset(split='train', data_root=avss_root, label_source=source, pipeline=pipeline)
        assert ds.get_data_info(0)['label_format'] == ('index' if source == 'semantic' else 'palette_rgb')
        items[source] = [ds[i] for i in range(len(ds))]
    for sem, rgb, (_, subset, _, _, cls) in zip(items['semantic'], items['rgb'], fake.AVSS_CLIPS[:3]):
        assert len(sem['imgs']) == 10 and sem['imgs'][0].shape == (*fake.AVSS_SHAPE, 3)
        for t in range(10):
            np.testing.assert_array_equal(sem['gt_seg_maps'][t], rgb['gt_seg_maps'][t])
            if t in fake.avss_labeled(subset, 'train'):
                np.testing.assert_array_equal(sem['gt_seg_maps'][t], fake.mask_array(t, fake.AVSS_SHAPE, cls))
            else:
                assert (sem['gt_seg_maps'][t] == 255).all()
        n_real = 10 if subset == 'v2' else 5
        assert all((img == 0).all() for img in sem['imgs'][n_real:])  # padded frames are zeros
        # 5 s (or 10 s) of audio -> one example per real second, zeros for padded frames
        assert sem['audio'].shape == (10, 1, 96, 64)
        assert (sem['audio'][n_real:] == 0).all() and (sem['audio'][:n_real] != 0).all()


def test_avss_pkl_audio_trimmed_to_real_frames(tmp_path, fake):
    root = fake.make_avss(tmp_path / 'AVSBench_semantic', pkl=True)
    ds = SemanticDataset(split='train', data_root=root, pipeline=[LoadClipAudio()])
    info = ds.get_data_info(0)  # v1s: 5 real frames; the COMBO pkl holds 10 examples
    assert info['audio_path'].endswith('audio.pkl')
    import pickle
    with open(info['audio_path'], 'rb') as f:
        ref = pickle.load(f).numpy()
    audio = ds[0]['audio']
    np.testing.assert_allclose(audio[:5], ref[:5])
    assert (audio[5:] == 0).all()


def test_avss_label2idx_checks(tmp_path, fake):
    classes = list(fake.AVSS_CLASSES)
    classes[0], classes[1] = classes[1], classes[0]  # background at index 1
    root = fake.make_avss(tmp_path / 'a', clips=fake.AVSS_CLIPS[:1], classes=classes)
    with pytest.raises(ValueError, match=r'label2idx\.json must give background index 0'):
        SemanticDataset(split='train', data_root=root)
    os.remove(osp.join(root, 'label2idx.json'))
    with pytest.raises(FileNotFoundError, match=r'label2idx\.json'):
        SemanticDataset(split='train', data_root=root)


# ----------------------------------------------------------------------------------------------- errors
def test_missing_root_csv_and_split(tmp_path, s4_root, fake):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        S4Dataset(split='train', data_root=str(tmp_path / 'nowhere'))
    with pytest.raises(ValueError, match="split must be one of"):
        S4Dataset(split='training', data_root=s4_root)
    with pytest.raises(FileNotFoundError, match=r'metadata csv not found: .*other\.csv'):
        S4Dataset(split='train', data_root=s4_root, ann_file='other.csv')
    root = fake.make_s4(tmp_path / 'no_test', clips=fake.S4_CLIPS[:4])
    with pytest.raises(ValueError, match=r"split 'test' has no clips in .*s4_meta_data\.csv.*\['train', 'val'\]"):
        S4Dataset(split='test', data_root=root)
    fake.write_csv(osp.join(root, 's4_meta_data.csv'), ['name', 'category', 'split'], [['s4a', 'guitar', 'train']])
    with pytest.raises(ValueError, match='must have 4 columns'):
        S4Dataset(split='train', data_root=root)
    fake.write_csv(osp.join(root, 'ms3_meta_data.csv'), ['name', 'start', 'subset'], [['x', 0, 'train']])
    with pytest.raises(ValueError, match=r"lacks columns \['split'\]"):
        MS3Dataset(split='train', data_root=root)


def test_missing_files_are_listed(s4_root):
    frame = osp.join(s4_root, 's4_data', 'visual_frames', 'train', 'dog', 's4b', 's4b_3.png')
    mask = osp.join(s4_root, 's4_data', 'gt_masks', 'train', 'guitar', 's4c', 's4c_1.png')
    os.remove(frame)
    os.remove(mask)
    with pytest.raises(FileNotFoundError) as err:
        S4Dataset(split='train', data_root=s4_root)
    msg = str(err.value)
    assert '2 problem(s)' in msg and f'missing frame 2: {frame}' in msg and f'missing mask 0: {mask}' in msg
    for cat, name in (('guitar', 's4e'), ):
        os.remove(osp.join(s4_root, 's4_data', 'audio_log_mel', 'test', cat, f'{name}.pkl'))
        os.remove(osp.join(s4_root, 's4_data', 'audio_wav', 'test', cat, f'{name}.wav'))
    with pytest.raises(FileNotFoundError, match=r'clip s4e: no audio, neither .*s4e\.pkl nor .*s4e\.wav exists'):
        S4Dataset(split='test', data_root=s4_root)


def test_many_missing_files_are_summarised(ms3_root):
    import shutil
    shutil.rmtree(osp.join(ms3_root, 'ms3_data', 'visual_frames'))
    with pytest.raises(FileNotFoundError) as err:
        MS3Dataset(split='train', data_root=ms3_root)
    msg = str(err.value)
    assert '10 problem(s)' in msg and '... and 5 more' in msg and 'ms3a.mp4_1.png' in msg


def test_frame_mask_count_mismatch(s4_root, avss_root, fake):
    extra = osp.join(s4_root, 's4_data', 'gt_masks', 'val', 'dog', 's4d', 's4d_6.png')
    fake.write_image(extra, fake.mask_array(0))
    with pytest.raises(FileNotFoundError, match=r"clip s4d: 1 mask file\(s\) .* match none of its 5 frames .*s4d_6"):
        S4Dataset(split='val', data_root=s4_root)
    fake.write_image(osp.join(avss_root, 'v1m', 'u2', 'frames', '5.jpg'), fake.frame_array(0, 0, fake.AVSS_SHAPE))
    with pytest.raises(FileNotFoundError, match=r'clip u2: 1 frame file\(s\) .*frame/frame count mismatch'):
        SemanticDataset(split='train', data_root=avss_root)
    # and at load time: a clip dict whose mask list does not match its frames
    results = dict(clip_id='x', img_paths=[None] * 2, imgs=[np.zeros((4, 4, 3), np.uint8)] * 2,
                   seg_map_paths=[None] * 3)
    with pytest.raises(ValueError, match='clip x has 2 frames but 3 mask entries'):
        LoadClipAnnotations().transform(results)


def test_unreadable_and_inconsistent_files_name_the_file(s4_root, fake):
    ds = S4Dataset(split='val', data_root=s4_root, pipeline=LOADERS)
    info = ds.get_data_info(0)
    with open(info['img_paths'][3], 'wb') as f:
        f.write(b'not a png')
    with pytest.raises(ValueError, match=r'cannot decode frame 3 of clip s4d .*s4d_4\.png'):
        ds[0]
    fake.write_image(info['img_paths'][3], fake.frame_array(0, 3, (16, 16)))
    with pytest.raises(ValueError, match=r'frames of clip s4d differ in size.*s4d_4\.png 16x16'):
        ds[0]
    fake.write_image(info['img_paths'][3], fake.frame_array(0, 3))
    fake.write_image(info['seg_map_paths'][2], np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match=r'mask .*gt_masks.*s4d_3\.png is 8x8 but frame .*visual_frames.*s4d_3\.png'):
        ds[0]
    fake.write_image(info['seg_map_paths'][2], fake.mask_array(2))
    os.remove(info['seg_map_paths'][1])  # removed after the list was built
    with pytest.raises(FileNotFoundError, match=r'mask 1 of clip s4d not found: .*s4d_2\.png'):
        ds[0]


def test_unknown_palette_colour_and_bad_index(avss_root, fake):
    ds = SemanticDataset(split='train', data_root=avss_root, label_source='rgb', pipeline=LOADERS[:2])
    path = ds.get_data_info(0)['seg_map_paths'][0]
    rgb = np.zeros((*fake.AVSS_SHAPE, 3), np.uint8)
    rgb[0, 0] = (1, 2, 3)
    fake.write_image(path, rgb)
    with pytest.raises(ValueError, match=r'labels_rgb.0\.png of clip u1 has 1 pixel\(s\) .*RGB \[\(1, 2, 3\)\]'):
        ds[0]
    ds = SemanticDataset(split='train', data_root=avss_root, pipeline=LOADERS[:2])
    path = ds.get_data_info(0)['seg_map_paths'][0]
    fake.write_image(path, np.full(fake.AVSS_SHAPE, 80, np.uint8))
    with pytest.raises(ValueError, match=r'labels_semantic.0\.png of clip u1 has values \[80\] outside 0\.\.70'):
        ds[0]


def test_bad_audio_errors_and_padding_warning(s4_root):
    ds = S4Dataset(split='test', data_root=s4_root, audio_source='wav', pipeline=[LoadClipAudio()])
    path = ds.get_data_info(0)['audio_path']
    with open(path, 'wb') as f:
        f.write(b'RIFF....garbage')
    with pytest.raises(RuntimeError, match=r'cannot read audio file .*s4e\.wav'):
        ds[0]
    sf.write(path, np.zeros((0, 1), np.float32), 16000)
    with pytest.raises(ValueError, match=r's4e\.wav.*zero samples'):
        ds[0]
    sf.write(path, np.full((16000 * 5, 1), np.nan, np.float32), 16000, subtype='FLOAT')
    with pytest.raises(ValueError, match=r's4e\.wav.*NaN'):
        ds[0]
    sf.write(path, 0.1 * np.ones((int(16000 * 2.5), 1), np.float32), 16000, subtype='FLOAT')
    with pytest.warns(AudioPaddingWarning, match=r's4e\.wav.*padded 3 example'):
        assert ds[0]['audio'].shape == (5, 1, 96, 64)
    pkl_ds = S4Dataset(split='test', data_root=s4_root, pipeline=[LoadClipAudio()])
    import pickle
    with open(pkl_ds.get_data_info(0)['audio_path'], 'wb') as f:
        pickle.dump(torch.full((5, 1, 96, 64), float('nan')), f)
    with pytest.raises(ValueError, match=r's4e\.pkl.*NaN'):
        pkl_ds[0]


# ----------------------------------------------------------------------------------------------- configs + full path
def _config(name, root):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key]['dataset']['data_root'] = root
    return cfg


def test_full_pipeline_to_data_preprocessor(s4_root):
    """S4 train config (COMBO recipe) -> PackAVSInputs -> avs_collate -> AVSDataPreprocessor."""
    init_default_scope('avsseg')
    cfg = _config('avsbench_s4.py', s4_root)
    assert cfg.train_dataloader.collate_fn == dict(type='avsseg.avs_collate')
    np.random.seed(0)
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    batch = avs_collate([ds[0], ds[2]])
    assert len(batch['inputs']['frames']) == 2 and len(batch['data_samples']) == 10
    assert batch['inputs']['frames'][0].shape == (5, 3, 224, 224) and batch['inputs']['frames'][0].dtype == torch.uint8
    out = AVSDataPreprocessor(size=(224, 224))(batch, training=True)
    frames, audio, samples = out['inputs']['frames'], out['inputs']['audio'], out['data_samples']
    assert frames.shape == (10, 3, 224, 224) and frames.dtype == torch.float32
    assert audio.shape == (10, 1, 96, 64)
    assert [s.metainfo['frame_idx'] for s in samples] == list(range(5)) * 2
    assert [s.metainfo['clip_id'] for s in samples] == ['s4a'] * 5 + ['s4c'] * 5
    assert [s.metainfo['is_labeled'] for s in samples] == ([True] + [False] * 4) * 2
    for s in samples:
        gt = s.gt_sem_seg.data
        assert gt.shape == (1, 224, 224)
        if s.metainfo['is_labeled']:
            assert set(gt.unique().tolist()) <= {0, 1, 255} and (gt == 1).any()
        else:
            assert (gt == 255).all()
    # The object square is painted at 250 in frame 0: after the shared resize/crop/flip its pixels are where
    # the frame-0 mask says the object is (the colour jitter moves intensities but keeps the square bright).
    f0 = batch['inputs']['frames'][0][0].float().mean(0)
    gt0 = samples[0].gt_sem_seg.data[0]
    assert f0[gt0 == 1].mean() > f0[gt0 == 0].mean() + 30


@pytest.mark.parametrize('name,root_fixture,length,num_frames', [
    ('avsbench_s4.py', 's4_root', 1, 5),
    ('avsbench_ms3.py', 'ms3_root', 1, 5),
    ('avsbench_semantic.py', 'avss_root', 1, 10),
])
def test_configs_build_and_test_pipeline(name, root_fixture, length, num_frames, request):
    init_default_scope('avsseg')
    root = request.getfixturevalue(root_fixture)
    cfg = _config(name, root)
    assert cfg.test_evaluator['type'] == ('AVSSemanticMetric' if 'semantic' in name else 'AVSBinaryMetric')
    assert cfg.test_dataloader.batch_size == 4
    METRICS.build(cfg.test_evaluator)  # the evaluator arguments match the metric
    ds = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(ds) == length and ds.test_mode
    item = ds[0]
    assert item['inputs']['frames'].shape == (num_frames, 3, 224, 224)
    meta = item['data_samples'][0].metainfo
    assert meta['ori_shape'] == (224, 224) and meta['img_shape'] == (224, 224)  # scored at 224 (official)
    train = DATASETS.build(cfg.train_dataloader.dataset)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', AudioPaddingWarning)
        t_item = train[0]
    assert t_item['inputs']['frames'].shape == (num_frames, 3, 224, 224)
    assert t_item['data_samples'][0].gt_sem_seg.data.shape == (1, 224, 224)


def test_avss_palette_function():
    pal = avss_palette(71)
    assert len(pal) == 71 and len({tuple(c) for c in pal}) == 71
    # by hand, 70 = 0b1_000_110: triple 0 = 110 -> g, b get bit 7; triple 1 = 000; triple 2 = 001 -> r gets bit 5
    assert pal[70] == [32, 128, 128]
    with pytest.raises(ValueError):
        avss_palette(300)


# ----------------------------------------------------------------------------------------------- csv splits
def test_unknown_split_names_are_errors_naming_the_rows(tmp_path, fake):
    """A row whose split is not train/val/test used to be dropped silently from every split."""
    clips = fake.S4_CLIPS + [('s4f', 'dog', 'Train'), ('s4g', 'dog', 'testing')]
    root = fake.make_s4(tmp_path / 'Single-source', clips=clips)
    with pytest.raises(ValueError) as err:
        S4Dataset(split='train', data_root=root)
    msg = str(err.value)
    assert 's4_meta_data.csv' in msg and '2 row(s)' in msg
    assert "line 7: split 'Train' (clip s4f)" in msg and "line 8: split 'testing' (clip s4g)" in msg
    assert "known splits ('train', 'val', 'test')" in msg
    # every split refuses the csv, not only the one whose rows were dropped
    with pytest.raises(ValueError, match="line 7: split 'Train'"):
        S4Dataset(split='val', data_root=root)


def test_unknown_split_names_in_ms3_and_avss(tmp_path, fake):
    root = fake.make_ms3(tmp_path / 'Multi-sources', clips=fake.MS3_CLIPS + [('ms3e', 'valid')])
    with pytest.raises(ValueError, match=r"(?s)ms3_meta_data\.csv.*line 6: split 'valid' \(clip ms3e\)"):
        MS3Dataset(split='train', data_root=root)
    clips = fake.AVSS_CLIPS + [('u6', 'v1s', 'Test', 'cat', 2)]
    root = fake.make_avss(tmp_path / 'AVSBench_semantic', clips=clips)
    with pytest.raises(ValueError, match=r"(?s)metadata\.csv.*line 7: split 'Test' \(clip u6\)"):
        SemanticDataset(split='test', data_root=root)


def test_clip_in_two_splits_is_a_leak(tmp_path, fake):
    # s4a is both a training and a test clip: test scores would be measured on training data
    clips = fake.S4_CLIPS + [('s4a', 'guitar', 'test')]
    root = fake.make_s4(tmp_path / 'Single-source', clips=clips)
    with pytest.raises(ValueError) as err:
        S4Dataset(split='val', data_root=root)
    msg = str(err.value)
    assert 's4_meta_data.csv' in msg and 'train/test leak' in msg
    assert "clip s4a: line 2 (train), line 7 (test)" in msg
    root = fake.make_ms3(tmp_path / 'Multi-sources', clips=fake.MS3_CLIPS + [('ms3c', 'train')])
    with pytest.raises(ValueError, match=r"clip ms3c: line 4 \(val\), line 6 \(train\)"):
        MS3Dataset(split='test', data_root=root)
    root = fake.make_avss(tmp_path / 'AVSBench_semantic', clips=fake.AVSS_CLIPS + [('u1', 'v1s', 'val', 'dog', 3)])
    with pytest.raises(ValueError, match=r"clip u1: line 2 \(train\), line 7 \(val\)"):
        SemanticDataset(split='train', data_root=root)


def test_clip_twice_in_one_split_names_the_lines(tmp_path, fake):
    root = fake.make_s4(tmp_path / 'Single-source', clips=fake.S4_CLIPS + [('s4b', 'dog', 'train')])
    with pytest.raises(ValueError, match=r"(?s)repeat.*clip s4b: line 3 \(train\), line 7 \(train\)"):
        S4Dataset(split='test', data_root=root)


# ----------------------------------------------------------------------------------------------- extra frames
def test_sixth_frame_of_s4_and_ms3_is_refused(s4_root, ms3_root, fake):
    """S4/MS3 clips have 5 frames; a 6th frame in the folder used to be ignored (AVSS already refused it)."""
    extra = osp.join(s4_root, 's4_data', 'visual_frames', 'train', 'dog', 's4b', 's4b_6.png')
    fake.write_image(extra, fake.frame_array(1, 5))
    with pytest.raises(FileNotFoundError, match=r"clip s4b: 1 frame file\(s\) in .*s4b match none of its 5 frames "
                       r"\(frame/frame count mismatch\): \['s4b_6\.png'\]"):
        S4Dataset(split='train', data_root=s4_root)
    extra = osp.join(ms3_root, 'ms3_data', 'visual_frames', 'ms3c', 'ms3c.mp4_6.png')
    fake.write_image(extra, fake.frame_array(2, 5))
    with pytest.raises(FileNotFoundError, match=r"clip ms3c: 1 frame file\(s\) .*\['ms3c\.mp4_6\.png'\]"):
        MS3Dataset(split='val', data_root=ms3_root)
