"""AudioPerturbedDataset: the test-time audio-perturbation protocol around any clip dataset (fake releases from
tests/test_datasets/conftest.py)."""
import math
import os.path as osp
from functools import partial

import numpy as np
import pytest
import soundfile as sf
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from avsseg.datasets import AudioPerturbedDataset, AVSBenchMS3Dataset, AVSBenchS4Dataset, AVSBenchSemanticDataset
from avsseg.datasets.audio import clip_log_mel, load_audio, mix_at_snr, to_mono_16k
from avsseg.datasets.dataset_wrappers import category_derangement, clip_seed
from avsseg.datasets.transforms import LoadClipAnnotations, LoadClipAudio, LoadClipFrames, PackAVSInputs
from avsseg.registry import DATASETS

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', '_base_', 'datasets')
S4Dataset = partial(AVSBenchS4Dataset, serialize_data=False)
MS3Dataset = partial(AVSBenchMS3Dataset, serialize_data=False)
SemanticDataset = partial(AVSBenchSemanticDataset, serialize_data=False)
SILENCE = math.log(0.01)  # VGGish log-mel of silence


def _wave(path):
    return to_mono_16k(*load_audio(path))


def _s4_wav(root, split='train'):
    return S4Dataset(split=split, data_root=root, audio_source='wav', pipeline=[LoadClipAudio()])


@pytest.fixture
def s4_many(tmp_path, fake):
    """An S4 train split of 8 clips in 3 categories (wav only), for partner statistics."""
    clips = [(f'c{i}', ('guitar', 'dog', 'car')[i % 3], 'train') for i in range(8)]
    return fake.make_s4(tmp_path / 'many', clips=clips, pkl=False)


# ----------------------------------------------------------------------------------------------- partners
def test_category_derangement():
    cats = ['a', 'a', 'b', 'b', 'c', 'c', 'd']
    p = category_derangement(cats, seed=3)
    assert sorted(p) == list(range(7)) and all(p[i] != i for i in range(7))
    assert all(cats[p[i]] != cats[i] for i in range(7))  # largest group <= n/2: always another category
    assert p == category_derangement(cats, seed=3)
    assert any(category_derangement(cats, seed=s) != p for s in range(4, 10))
    cats = ['a'] * 4 + ['b']  # a dominates: 2 * (5 - 4) = 2 cross-category pairs at most, and we get them
    p = category_derangement(cats, seed=0)
    assert all(p[i] != i for i in range(5)) and sum(cats[p[i]] != cats[i] for i in range(5)) == 2
    p = category_derangement([None] * 4, seed=0)
    assert sorted(p) == [0, 1, 2, 3] and all(p[i] != i for i in range(4))
    with pytest.raises(ValueError, match='at least 2 clips'):
        category_derangement(['a'], seed=0)


@pytest.mark.parametrize('categories', [[None] * 2, [None] * 7, ['a'] * 6, ['a', 'b'] * 5, ['a'] * 9 + ['b']])
def test_swap_never_pairs_a_clip_with_itself(categories):
    for seed in range(20):
        p = category_derangement(categories, seed)
        assert sorted(p) == list(range(len(categories))) and all(p[i] != i for i in range(len(p)))


def test_swap_and_silence(s4_root):
    ds = AudioPerturbedDataset(_s4_wav(s4_root), perturbation=dict(type='swap', seed=1))
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    others = [i['audio_perturbation']['other_clip_id'] for i in infos]
    assert sorted(others) == ['s4a', 's4b', 's4c'] and all(o != i['clip_id'] for o, i in zip(others, infos))
    # guitar, dog, guitar: the dog clip and one guitar clip exchange categories
    cats = {i['clip_id']: i['category'] for i in infos}
    assert sum(cats[o] != i['category'] for o, i in zip(others, infos)) == 2
    for idx, info in enumerate(infos):
        pert = info['audio_perturbation']
        assert set(pert) == {'type', 'seed', 'other_audio_path', 'other_clip_id'} and pert['type'] == 'swap'
        assert pert['seed'] == clip_seed(1, info['clip_id'])
        assert pert['other_audio_path'].endswith(pert['other_clip_id'] + '.wav')
        item = ds[idx]
        np.testing.assert_allclose(item['audio'], clip_log_mel(_wave(pert['other_audio_path']), 5), atol=1e-6)
        assert item['audio_path'] == pert['other_audio_path']  # the audio the model hears
    for source in ('wav', 'pkl'):  # silence needs no waveform
        inner = S4Dataset(split='val', data_root=s4_root, audio_source=source, pipeline=[LoadClipAudio()])
        ds = AudioPerturbedDataset(inner, perturbation=dict(type='silence'))
        assert ds.get_data_info(0)['audio_perturbation'] == dict(type='silence', seed=clip_seed(0, 's4d'))
        np.testing.assert_allclose(ds[0]['audio'], np.full((5, 1, 96, 64), SILENCE), atol=1e-6)
        assert 'audio_perturbation' not in inner.get_data_info(0)  # the wrapped dataset is left as it was


def test_swap_accepts_pkl_audio(s4_root):
    ds = AudioPerturbedDataset(S4Dataset(split='train', data_root=s4_root, pipeline=[LoadClipAudio()]),
                               perturbation=dict(type='swap'))
    import pickle
    other = ds.get_data_info(0)['audio_perturbation']['other_audio_path']
    assert other.endswith('.pkl')
    with open(other, 'rb') as f:
        np.testing.assert_allclose(ds[0]['audio'], pickle.load(f).numpy())


def test_noise_and_offscreen(s4_root):
    inner = _s4_wav(s4_root)
    ds = AudioPerturbedDataset(inner, perturbation=dict(type='noise', snr_db=5.0, seed=7))
    info = ds.get_data_info(0)
    assert info['audio_perturbation'] == dict(type='noise', seed=clip_seed(7, 's4a'), snr_db=5.0)
    noisy = ds[0]['audio']
    np.testing.assert_array_equal(noisy, ds[0]['audio'])  # seeded per clip: reproducible
    clean = clip_log_mel(_wave(info['audio_path']), 5)
    assert np.abs(noisy - clean).mean() > 0.1
    other = AudioPerturbedDataset(inner, perturbation=dict(type='noise', snr_db=5.0, seed=8))[0]['audio']
    assert not np.array_equal(noisy, other)
    # default SNR is 0 dB
    default = AudioPerturbedDataset(inner, perturbation=dict(type='noise'))
    assert default.get_data_info(0)['audio_perturbation']['snr_db'] == 0.0

    ds = AudioPerturbedDataset(inner, perturbation=dict(type='offscreen', snr_db=3.0))
    info = ds.get_data_info(2)
    pert = info['audio_perturbation']
    assert pert['other_clip_id'] != info['clip_id']
    expected = clip_log_mel(mix_at_snr(_wave(info['audio_path']), _wave(pert['other_audio_path']), 3.0), 5)
    np.testing.assert_allclose(ds[2]['audio'], expected, atol=1e-5)


def test_fixed_offscreen_audio(tmp_path, s4_root, fake):
    """BAVS mixes one "electrical clipper" recording into every clip: ``offscreen_audio``."""
    clipper = str(tmp_path / 'clipper.wav')
    fake.write_wav(clipper, 2.0, sr=8000, freq=1234.0)
    ds = AudioPerturbedDataset(_s4_wav(s4_root), perturbation=dict(type='offscreen', offscreen_audio=clipper))
    for i in range(len(ds)):
        pert = ds.get_data_info(i)['audio_perturbation']
        assert (pert['other_audio_path'], pert['other_clip_id'], pert['snr_db']) == (clipper, None, 0.0)
        expected = clip_log_mel(mix_at_snr(_wave(ds.get_data_info(i)['audio_path']), _wave(clipper), 0.0), 5)
        np.testing.assert_allclose(ds[i]['audio'], expected, atol=1e-5)
    # one clip is enough: there is no partner to choose
    one = AudioPerturbedDataset(_s4_wav(s4_root, 'val'),
                                perturbation=dict(type='offscreen', offscreen_audio=clipper, snr_db=-5.0))
    assert one[0]['audio'].shape == (5, 1, 96, 64)

    base = dict(type='offscreen')
    with pytest.raises(FileNotFoundError, match='missing_clipper.wav'):
        AudioPerturbedDataset(_s4_wav(s4_root), perturbation=dict(base, offscreen_audio='missing_clipper.wav'))
    garbage = tmp_path / 'garbage.wav'
    garbage.write_bytes(b'this is not audio at all')
    with pytest.raises(ValueError, match='cannot be read: .*garbage.wav'):
        AudioPerturbedDataset(_s4_wav(s4_root), perturbation=dict(base, offscreen_audio=str(garbage)))
    silent = str(tmp_path / 'silent.wav')
    sf.write(silent, np.zeros(8000, np.float32), 16000)
    with pytest.raises(ValueError, match='silent.wav is silent'):
        AudioPerturbedDataset(_s4_wav(s4_root), perturbation=dict(base, offscreen_audio=silent))
    pkl = str(tmp_path / 'clipper.pkl')
    fake.write_pkl(pkl, 5)
    with pytest.raises(ValueError, match='must be a waveform file.*clipper.pkl'):
        AudioPerturbedDataset(_s4_wav(s4_root), perturbation=dict(base, offscreen_audio=pkl))
    with pytest.raises(ValueError, match='only applies to type="offscreen"'):
        AudioPerturbedDataset(_s4_wav(s4_root), perturbation=dict(type='swap', offscreen_audio=clipper))


def test_reproducible_by_seed(s4_many):
    inner = _s4_wav(s4_many)

    def partners(seed):
        ds = AudioPerturbedDataset(inner, perturbation=dict(type='swap', seed=seed))
        return [ds.get_data_info(i)['audio_perturbation']['other_clip_id'] for i in range(len(ds))]

    assert partners(0) == partners(0)
    assert len({tuple(partners(s)) for s in range(6)}) > 1  # the seed changes the pairing
    for seed in range(6):
        p = partners(seed)
        ids = [inner.get_data_info(i)['clip_id'] for i in range(len(inner))]
        assert sorted(p) == sorted(ids) and all(o != i for o, i in zip(p, ids))
        cats = {inner.get_data_info(i)['clip_id']: inner.get_data_info(i)['category'] for i in range(len(inner))}
        assert all(cats[o] != cats[i] for o, i in zip(p, ids))  # 3 categories, none above n/2
    # the per-clip noise seed depends on the clip id, not on the clip's position in the list
    reordered = S4Dataset(split='train', data_root=s4_many, audio_source='wav', pipeline=[LoadClipAudio()],
                          indices=[3, 0, 1])
    a = AudioPerturbedDataset(inner, perturbation=dict(type='noise', seed=5))
    b = AudioPerturbedDataset(reordered, perturbation=dict(type='noise', seed=5))
    assert b.get_data_info(0)['clip_id'] == 'c3'
    np.testing.assert_array_equal(a[3]['audio'], b[0]['audio'])


def test_ms3_without_categories(ms3_root):
    inner = MS3Dataset(split='train', data_root=ms3_root, audio_source='wav', pipeline=[LoadClipAudio()])
    ds = AudioPerturbedDataset(inner, perturbation=dict(type='swap'))
    assert [ds.get_data_info(i)['audio_perturbation']['other_clip_id'] for i in range(2)] == ['ms3b', 'ms3a']


# ----------------------------------------------------------------------------------------------- with the pipelines
def test_wrapped_avss_semantic_dataset(avss_root):
    """Clips of 5 and 10 real frames padded to 10: the perturbed audio fills the real frames only."""
    inner = SemanticDataset(split='train', data_root=avss_root, pipeline=[*_loaders(), PackAVSInputs()])
    ds = AudioPerturbedDataset(inner, perturbation=dict(type='swap', seed=2))
    assert ds.metainfo == inner.metainfo and len(ds.metainfo['classes']) == 71 and len(ds) == 3
    by_id = {}
    for i in range(len(ds)):
        item = ds[i]
        meta = item['data_samples'][0].metainfo
        by_id[meta['clip_id']] = (item, meta)
        pert = meta['audio_perturbation']
        assert pert['type'] == 'swap' and pert['other_clip_id'] != meta['clip_id']
        n_real = 10 if meta['clip_id'] == 'u3' else 5
        expected = clip_log_mel(_wave(pert['other_audio_path']), n_real)
        audio = item['inputs']['audio'].numpy()
        assert audio.shape == (10, 1, 96, 64)
        np.testing.assert_allclose(audio[:n_real], expected, atol=1e-5)
        assert (audio[n_real:] == 0).all()
        assert all(s.metainfo['audio_perturbation'] == pert for s in item['data_samples'])
    noise = AudioPerturbedDataset(SemanticDataset(split='train', data_root=avss_root, pipeline=[LoadClipAudio()]),
                                  perturbation=dict(type='noise', snr_db=10.0))
    audio = noise[0]['audio']  # v1s clip: 5 real frames
    clean = clip_log_mel(_wave(noise.get_data_info(0)['audio_path']), 5)
    assert (audio[5:] == 0).all() and np.abs(audio[:5] - clean).mean() > 0.1


def _loaders():
    return [LoadClipFrames(), LoadClipAnnotations(), LoadClipAudio()]


def _config(name, root):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    cfg.test_dataloader.dataset.data_root = root
    return cfg


def test_wrapped_s4_config_through_the_runner_dataloader(s4_root):
    """Built from a config (lazily) and through mmengine's dataloader building, as tools/test.py does."""
    init_default_scope('avsseg')
    cfg = _config('avsbench_s4.py', s4_root)
    loader_cfg = cfg.test_dataloader
    loader_cfg.dataset.split = 'train'  # 3 clips
    loader_cfg.dataset = dict(type='AudioPerturbedDataset', dataset=loader_cfg.dataset,
                              perturbation=dict(type='swap', seed=0), lazy_init=True)
    loader_cfg.update(num_workers=0, persistent_workers=False, batch_size=2)
    lazy = DATASETS.build(loader_cfg.dataset)
    assert not lazy._fully_initialized and lazy.metainfo['classes'] == ('background', 'object')
    assert len(lazy) == 3 and lazy._fully_initialized  # len() initialises
    loader = Runner.build_dataloader(loader_cfg)
    assert isinstance(loader.dataset, AudioPerturbedDataset) and len(loader.dataset) == 3
    batches = list(loader)
    samples = [s for b in batches for s in b['data_samples']]
    assert len(samples) == 15 and batches[0]['inputs']['frames'][0].shape == (5, 3, 224, 224)
    clip_ids = [s.metainfo['clip_id'] for s in samples[::5]]
    assert sorted(clip_ids) == ['s4a', 's4b', 's4c']
    for s in samples:
        pert = s.metainfo['audio_perturbation']
        assert pert['type'] == 'swap' and pert['other_clip_id'] != s.metainfo['clip_id']
    # the pkl audio of the partner is what the clip gets
    import pickle
    with open(samples[0].metainfo['audio_perturbation']['other_audio_path'], 'rb') as f:
        np.testing.assert_allclose(batches[0]['inputs']['audio'][0].numpy(), pickle.load(f).numpy())


# ----------------------------------------------------------------------------------------------- errors
def test_perturbation_errors(s4_root):
    with pytest.raises(ValueError, match="audio_source='wav'"):
        AudioPerturbedDataset(S4Dataset(split='train', data_root=s4_root, pipeline=[LoadClipAudio()]),
                              perturbation=dict(type='noise'))
    with pytest.raises(ValueError, match='type in'):
        AudioPerturbedDataset(_s4_wav(s4_root), perturbation=dict(type='reverse'))
    with pytest.raises(ValueError, match=r"unknown perturbation keys \['audio_path'\]"):
        AudioPerturbedDataset(_s4_wav(s4_root), perturbation=dict(type='offscreen', audio_path='x.wav'))
    with pytest.raises(ValueError, match="snr_db applies to .* not 'swap'"):
        AudioPerturbedDataset(_s4_wav(s4_root), perturbation=dict(type='swap', snr_db=3.0))
    with pytest.raises(ValueError, match='snr_db must be finite'):
        AudioPerturbedDataset(_s4_wav(s4_root), perturbation=dict(type='noise', snr_db=float('nan')))
    with pytest.raises(ValueError, match="'swap'.*at least 2 clips"):
        AudioPerturbedDataset(_s4_wav(s4_root, 'val'), perturbation=dict(type='swap'))
    with pytest.raises(ValueError, match='no LoadClipAudio'):
        AudioPerturbedDataset(S4Dataset(split='train', data_root=s4_root, pipeline=[LoadClipFrames()]),
                              perturbation=dict(type='silence'))
    with pytest.raises(TypeError, match='wrap each dataset inside it'):
        AudioPerturbedDataset([1, 2], perturbation=dict(type='silence'))
    ds = AudioPerturbedDataset(_s4_wav(s4_root), perturbation=dict(type='silence'))
    with pytest.raises(TypeError, match='BaseDataset'):
        AudioPerturbedDataset(ds, perturbation=dict(type='silence'))
    with pytest.raises(NotImplementedError, match='indices'):
        ds.get_subset([0])
