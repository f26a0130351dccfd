"""AVSSyntheticDataset and LoadClipAudioFromExample on a tiny hand-written AVS-Synthetic layout.

Each sample's mask is a square at a position of its own and each category's audio is a tone of its own pitch
that starts only after the first second, so a test can tell which mask and which audio (and which 0.96 s example
of it) a loaded item carries. The builder's output is read back in tests/test_tools/test_build_avs_synthetic.py.
"""
import csv
import json
import os
import os.path as osp
import pickle
from functools import partial

import numpy as np
import pytest
import soundfile as sf
from mmengine.config import Config

from avsseg.datasets import AudioPerturbedDataset, AVSSyntheticDataset
from avsseg.datasets.audio import load_audio, to_mono_16k, waveform_to_examples
from avsseg.datasets.transforms import (LoadClipAnnotations, LoadClipAudio, LoadClipAudioFromExample, LoadClipFrames,
                                        PackAVSInputs)

HEADER = ['inst_id', 'img_id', 'split', 'mask_mode', 'cls_name', 'cls_id', 'dataset', 'source_ids', 'audio_name']
#: category id -> (name, tone frequency of its audio clips in Hz)
CATS = {'0': ('dog', 500.0), '1': ('cat', 2500.0)}
Dataset = partial(AVSSyntheticDataset, serialize_data=False)
CONFIG = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets', 'avs_synthetic.py')


def tone(freq, seconds=3.0, silent_first=1.0, sr=16000):
    t = np.arange(int(seconds * sr)) / sr
    wave = 0.3 * np.sin(2 * np.pi * freq * t)
    wave[:int(silent_first * sr)] = 0.0
    return wave.astype(np.float32)


def file_examples(path):
    """All VGGish examples ``[K, 1, 96, 64]`` of a wav file (as written: 16-bit PCM)."""
    return waveform_to_examples(to_mono_16k(*load_audio(path)))


def write_layout(root, rows, pools=None, pool_format='json'):
    """rows: (inst_id, img_id, split, cls_id, audio_name); masks get a square at 3 * row index."""
    for sub in ('images', 'masks', 'audios'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    pools = pools if pools is not None else {cid: [f'{CATS[cid][0]}_{k}' for k in range(2)] for cid in CATS}
    for cid, names in pools.items():
        for k, name in enumerate(names):
            sf.write(osp.join(root, 'audios', f'{name}.wav'), tone(CATS[cid][1] * (1 + 0.1 * k)), 16000)
    if pool_format == 'json':
        with open(osp.join(root, 'category_audios.json'), 'w') as f:
            json.dump(pools, f)
    else:
        with open(osp.join(root, 'category_for_vggsound_audios.pkl'), 'wb') as f:
            pickle.dump({int(k): v for k, v in pools.items()}, f)
    import cv2
    with open(osp.join(root, 'annotations.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i, (inst, img, split, cid, audio) in enumerate(rows):
            writer.writerow([inst, img, split, 'instance', CATS[cid][0], cid, 'toy', f'ann{i}', audio])
            image = np.full((20, 30, 3), 60 + 10 * i, np.uint8)
            cv2.imwrite(osp.join(root, 'images', f'{img}.png'), image)
            mask = np.zeros((20, 30), np.uint8)
            mask[3 * i:3 * i + 4, 2 * i:2 * i + 5] = 255
            cv2.imwrite(osp.join(root, 'masks', f'{inst}.png'), mask)


ROWS = [('s0', 'im0', 'train', '0', ''), ('s1', 'im1', 'train', '1', ''), ('s2', 'im2', 'validate', '0', 'dog_1'),
        ('s3', 'im3', 'test', '1', 'cat_0'), ('s4', 'im4', 'test', '0', '')]
PIPELINE = [LoadClipFrames(), LoadClipAnnotations(), LoadClipAudioFromExample(start_example=1), PackAVSInputs()]


@pytest.fixture
def root(tmp_path):
    write_layout(str(tmp_path), ROWS)
    return str(tmp_path)


def test_clip_dicts_splits_and_fixed_audio(root):
    train = Dataset(split='train', data_root=root)
    assert len(train) == 2 and train.resample_audio
    info = train.get_data_info(1)
    assert info['clip_id'] == 's1' and info['num_frames'] == 1 and info['category'] == 'cat'
    assert info['img_paths'] == [osp.join(root, 'images', 'im1.png')]
    assert info['seg_map_paths'] == [osp.join(root, 'masks', 's1.png')]
    assert info['frame_flags'] == dict(is_labeled=[True], is_padded=[False])
    val = Dataset(split='val', data_root=root)  # the release's 'validate'
    assert [val.get_data_info(0)['clip_id']] == ['s2'] and not val.resample_audio
    assert val.get_data_info(0)['audio_path'] == osp.join(root, 'audios', 'dog_1.wav')
    test = Dataset(split='test', data_root=root)
    assert test.get_data_info(0)['audio_path'] == osp.join(root, 'audios', 'cat_0.wav')
    # no audio_name: a fixed draw from the dog pool, the same for the same seed
    drawn = test.get_data_info(1)['audio_path']
    assert osp.basename(drawn) in ('dog_0.wav', 'dog_1.wav')
    assert Dataset(split='test', data_root=root).get_data_info(1)['audio_path'] == drawn
    other = {Dataset(split='test', data_root=root, audio_seed=s).get_data_info(1)['audio_path'] for s in range(8)}
    assert other == {osp.join(root, 'audios', 'dog_0.wav'), osp.join(root, 'audios', 'dog_1.wav')}


def test_items_pair_mask_and_same_category_audio(root):
    train = Dataset(split='train', data_root=root, pipeline=PIPELINE)
    pitches = {}
    for name, _ in CATS.values():
        for k in range(2):
            pitches[f'{name}_{k}.wav'] = file_examples(osp.join(root, 'audios', f'{name}_{k}.wav'))[1]
    np.random.seed(0)
    seen = set()
    for _ in range(12):
        for idx, (inst, _, _, cid, _) in enumerate(ROWS[:2]):
            item = train[idx]
            sample = item['data_samples'][0]
            assert sample.clip_id == inst
            gt = sample.gt_sem_seg.data[0].numpy()
            ys, xs = np.nonzero(gt)
            assert (ys.min(), xs.min(), gt.sum()) == (3 * idx, 2 * idx, 20)
            name = osp.basename(sample.audio_path)
            audio = item['inputs']['audio'].numpy()
            assert audio.shape == (1, 1, 96, 64)
            match = [n for n, mel in pitches.items() if np.allclose(audio[0], mel, atol=1e-5)]
            assert match == [name] and name.startswith(CATS[cid][0]), (inst, match, name)
            seen.add(match[0])
    assert seen == set(pitches)  # every clip of each pool is drawn


def test_audio_starts_at_the_second_vggish_example(root):
    path = osp.join(root, 'audios', 'dog_0.wav')
    results = dict(clip_id='x', audio_path=path, num_frames=1)
    first = LoadClipAudio().transform(dict(results))['audio']
    second = LoadClipAudioFromExample(start_example=1).transform(dict(results))['audio']
    examples = file_examples(path)
    np.testing.assert_allclose(first[0], examples[0], atol=1e-5)  # the silent first second
    np.testing.assert_allclose(second[0], examples[1], atol=1e-5)
    assert not np.allclose(first, second)
    two = LoadClipAudioFromExample(start_example=1).transform(dict(results, num_frames=2))['audio']
    np.testing.assert_allclose(two, examples[1:3], atol=1e-5)
    short = osp.join(root, 'short.wav')
    sf.write(short, tone(500.0, seconds=0.5, silent_first=0.0), 16000)
    with pytest.raises(ValueError, match='short.wav.*no VGGish example 1'):
        LoadClipAudioFromExample().transform(dict(results, audio_path=short))
    with pytest.raises(ValueError, match='start_example'):
        LoadClipAudioFromExample(start_example=-1)


def test_perturbations_through_the_wrapper(root):
    test = Dataset(split='test', data_root=root, pipeline=PIPELINE)
    silent = AudioPerturbedDataset(test, dict(type='silence'))[0]['inputs']['audio'].numpy()
    np.testing.assert_allclose(silent, np.log(0.01), atol=1e-5)
    swapped = AudioPerturbedDataset(Dataset(split='test', data_root=root, pipeline=PIPELINE), dict(type='swap'))
    item = swapped[0]  # the cat sample hears the other test sample's dog audio, from 0.96 s
    partner = swapped.get_data_info(0)['audio_perturbation']['other_audio_path']
    assert osp.basename(partner).startswith('dog')
    np.testing.assert_allclose(item['inputs']['audio'][0].numpy(), file_examples(partner)[1], atol=1e-5)
    noisy = AudioPerturbedDataset(Dataset(split='test', data_root=root, pipeline=PIPELINE),
                                  dict(type='noise', snr_db=60.0))[0]['inputs']['audio'].numpy()
    clean = file_examples(osp.join(root, 'audios', 'cat_0.wav'))[1:2]
    assert np.abs(noisy - clean).mean() < 0.5


def test_release_pickle_pool_and_refused_globals(tmp_path):
    write_layout(str(tmp_path), ROWS, pool_format='pkl')
    ds = Dataset(split='train', data_root=str(tmp_path))
    assert set(ds.audio_pools) == {'0', '1'} and len(ds.audio_pools['0']) == 2

    class Evil:

        def __reduce__(self):
            return (os.system, ('true', ))

    with open(osp.join(str(tmp_path), 'category_for_vggsound_audios.pkl'), 'wb') as f:
        pickle.dump({0: Evil()}, f)
    with pytest.raises(ValueError, match='category_for_vggsound_audios.pkl.*not allowed'):
        Dataset(split='train', data_root=str(tmp_path))


def test_errors_name_the_file(tmp_path, root):
    os.remove(osp.join(root, 'masks', 's1.png'))
    os.remove(osp.join(root, 'audios', 'cat_1.wav'))
    with pytest.raises(FileNotFoundError) as err:
        Dataset(split='train', data_root=root)
    assert 's1.png' in str(err.value) and 'cat_1.wav' in str(err.value)
    bad = str(tmp_path / 'nopool')
    write_layout(bad, ROWS, pools={'0': ['dog_0']})
    with pytest.raises(FileNotFoundError, match="'cat' .*has no audio in category_audios.json"):
        Dataset(split='train', data_root=bad)
    with open(osp.join(bad, 'annotations.csv'), 'a') as f:
        f.write('s0,im9,test,instance,dog,0,toy,x,\n')
    with pytest.raises(ValueError, match='more than one split'):
        Dataset(split='test', data_root=bad)
    with pytest.raises(ValueError, match='audio_source'):
        Dataset(split='test', data_root=root, audio_source='pkl')


def test_config_base_builds(root):
    cfg = Config.fromfile(CONFIG)
    from mmengine.registry import init_default_scope

    from avsseg.registry import DATASETS
    init_default_scope('avsseg')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds_cfg = cfg[loader].dataset
        ds_cfg.data_root = root
        ds = DATASETS.build(ds_cfg)
        item = ds[0]
        assert item['inputs']['frames'].shape[0] == 1 and max(item['inputs']['frames'].shape[2:]) == 640
