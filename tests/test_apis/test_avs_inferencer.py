"""AVSInferencer on generated videos with sound and on a synthetic S4 clip, with a tiny randomly initialised TPAVI.

The sampling test writes a synthetic clip's frames and wav into a lossless video (FFV1 + PCM in mkv, 4 fps, the
clip's frame only in the last quarter of each second) and checks the inferencer hands the model exactly what the
dataset loader makes of the clip's PNG frames and wav.
"""
import importlib.util
import os.path as osp
from fractions import Fraction

import av
import numpy as np
import pytest
import soundfile as sf
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from avsseg.apis import AVSInferencer, VideoWriter, resolve_config, to_media_source
from avsseg.registry import DATASETS, INFERENCERS, MODELS

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TINY_TPAVI = osp.join(REPO, 'tests', 'data', 'configs', 'tpavi_tiny_synthetic_s4.py')
MAKE_VIDEO = osp.join(REPO, 'tools', 'demo', 'make_synthetic_video.py')
DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


def load_tool(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def save_random_checkpoint(config, path, seed=0):
    """A freshly initialised model saved as a checkpoint (no training needed to test the plumbing)."""
    init_default_scope('avsseg')
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(config).model)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, str(path))
    return str(path)


@pytest.fixture(scope='module')
def tiny_ckpt(tmp_path_factory):
    return save_random_checkpoint(TINY_TPAVI, tmp_path_factory.mktemp('ckpt') / 'tiny.pth')


@pytest.fixture(scope='module')
def inferencer(tiny_ckpt):
    return AVSInferencer(TINY_TPAVI, tiny_ckpt, device='cpu', show_progress=False)


@pytest.fixture(scope='module')
def video7s(tmp_path_factory):
    """A 7 s synthetic video (64x64, 4 fps) with sound: one full clip of 5 seconds and a tail of 2."""
    tmp = tmp_path_factory.mktemp('video')
    tool = load_tool(MAKE_VIDEO, 'make_synthetic_video')
    return tool.write_synthetic_video(str(tmp / 'syn.mp4'), seconds=7, fps=4, size=64, seed=1)['path']


def write_lossless_video(path, frames, fps, samples_int16=None, sr=16000):
    """FFV1 video (exact RGB) and, optionally, PCM sound (exact samples) in mkv."""
    container = av.open(str(path), 'w')
    video = container.add_stream('ffv1', rate=fps)
    video.width, video.height, video.pix_fmt = frames[0].shape[1], frames[0].shape[0], 'bgr0'
    audio = container.add_stream('pcm_s16le', rate=sr, layout='mono') if samples_int16 is not None else None
    for i, image in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format='rgb24')
        frame.pts = i
        for packet in video.encode(frame):
            container.mux(packet)
    for packet in video.encode():
        container.mux(packet)
    if audio is not None:
        frame = av.AudioFrame.from_ndarray(samples_int16[None], format='s16', layout='mono')
        frame.sample_rate, frame.pts = sr, 0
        for packet in list(audio.encode(frame)) + list(audio.encode(None)):
            container.mux(packet)
    container.close()
    return str(path)


def batches(inferencer, source, every_frame=False, batch_size=1):
    return list(inferencer.preprocess(inferencer._inputs_to_list([source]), batch_size=batch_size,
                                      every_frame=every_frame))


def test_registered_and_config_names_resolve():
    assert INFERENCERS.get('AVSInferencer') is AVSInferencer
    assert resolve_config('tpavi_tiny_synthetic_s4') == osp.join(REPO, 'configs', 'tpavi', 'tpavi_tiny_synthetic_s4.py')
    assert resolve_config('tpavi_tiny_synthetic_s4.py').endswith('tpavi_tiny_synthetic_s4.py')
    with pytest.raises(FileNotFoundError, match='no_such_model'):
        resolve_config('no_such_model')


def test_sampling_matches_the_dataset_loader(inferencer, s4_root_32):
    """Same frames and same log-mel as the dataset's LoadClipFrames / LoadClipAudio on the clip's files."""
    cfg = Config.fromfile(TINY_TPAVI)
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.data_root = s4_root_32
    init_default_scope('avsseg')
    dataset = DATASETS.build(dataset_cfg)
    info = dataset.get_data_info(0)
    expected = dataset[0]['inputs']

    # frame files + wav, as the dataset has them
    (batch, ) = batches(inferencer, dict(frames=info['img_paths'], audio=info['audio_path']))
    torch.testing.assert_close(batch['inputs']['frames'][0], expected['frames'], rtol=0, atol=0)
    torch.testing.assert_close(batch['inputs']['audio'][0], expected['audio'], rtol=0, atol=0)

    # the same clip as a lossless 4 fps video: only the last quarter of each second shows the clip's frame
    import mmcv
    clip_frames = [mmcv.imread(p, channel_order='rgb') for p in info['img_paths']]
    video_frames = []
    for frame in clip_frames:
        video_frames += [255 - frame] * 3 + [frame]
    samples, sr = sf.read(info['audio_path'], dtype='int16')
    mkv = write_lossless_video(osp.join(osp.dirname(s4_root_32), 'clip.mkv'), video_frames, 4, samples, sr)
    (batch, ) = batches(inferencer, mkv)
    torch.testing.assert_close(batch['inputs']['frames'][0], expected['frames'], rtol=0, atol=0)
    torch.testing.assert_close(batch['inputs']['audio'][0], expected['audio'], rtol=0, atol=0)
    metas = [s.metainfo for s in batch['data_samples']]
    assert [m['frame_index'] for m in metas] == [3, 7, 11, 15, 19]
    assert [m['second'] for m in metas] == [0, 1, 2, 3, 4]


@pytest.fixture(scope='module')
def s4_root_32(tmp_path_factory):
    from avsseg.datasets.synthetic import generate_synthetic_avsbench
    root = tmp_path_factory.mktemp('s4') / 'data'
    generate_synthetic_avsbench(str(root), 's4', seed=0, num_videos=3, image_size=32)
    return str(root)


def test_video_gives_one_mask_per_second_and_pads_the_tail(inferencer, video7s):
    data = batches(inferencer, video7s)
    assert len(data) == 2  # 7 seconds: a clip of 5, and a tail of 2 padded to 5
    tail = data[1]
    flags = [s.metainfo['is_padded'] for s in tail['data_samples']]
    assert flags == [False, False, True, True, True]
    assert all(s.metainfo['num_frames'] == 5 for s in tail['data_samples'])
    assert torch.all(tail['inputs']['audio'][0][2:] == 0) and torch.all(tail['inputs']['frames'][0][2:] == 0)
    assert not torch.all(tail['inputs']['audio'][0][:2] == 0)
    # the tail's audio is the log-mel of the video's seconds 5 and 6, as a 2 s wav of them would give
    assert [s.metainfo['second'] for s in tail['data_samples'][:2]] == [5, 6]

    result = inferencer(video7s, batch_size=2, return_probs=True, return_vis=True)
    pred = result['predictions']
    assert pred['masks'].shape == (7, 64, 64) and pred['masks'].dtype == np.uint8
    assert set(np.unique(pred['masks'])) <= {0, 1}
    assert pred['frame_indices'].tolist() == [3, 7, 11, 15, 19, 23, 27]
    np.testing.assert_allclose(pred['times'], np.arange(7) + 0.75)
    assert pred['seconds'].tolist() == list(range(7))
    assert pred['probs'].shape == (7, 64, 64) and 0 <= pred['probs'].min() and pred['probs'].max() <= 1
    np.testing.assert_array_equal(pred['masks'], (pred['probs'] > 0.5).astype(np.uint8))
    assert pred['classes'] == ('background', 'object')
    assert len(result['visualization']) == 7 and result['visualization'][0].shape[1] == 64


def test_batching_does_not_change_predictions(inferencer, video7s):
    one = inferencer(video7s, batch_size=1, return_probs=True)['predictions']
    two = inferencer(video7s, batch_size=2, return_probs=True)['predictions']
    np.testing.assert_allclose(one['probs'], two['probs'], atol=1e-5)


def test_every_frame_predicts_each_frame_once(inferencer, video7s):
    data = batches(inferencer, video7s, every_frame=True)
    outputs = [s.metainfo['frame_index'] for b in data for s in b['data_samples'] if s.metainfo['is_output']]
    assert sorted(outputs) == list(range(28))
    for batch in data:  # clips hold frames one second apart
        times = [s.metainfo['frame_time'] for s in batch['data_samples'] if not s.metainfo['is_padded']]
        np.testing.assert_allclose(np.diff(times), 1.0)
    pred = inferencer(video7s, every_frame=True)['predictions']
    assert pred['masks'].shape == (28, 64, 64) and pred['frame_indices'].tolist() == list(range(28))


def test_outputs_are_written(inferencer, video7s, tmp_path):
    inferencer(video7s, out_dir=str(tmp_path))
    masks = sorted((tmp_path / 'pred' / 'syn').iterdir())
    drawings = sorted((tmp_path / 'vis' / 'syn').iterdir())
    assert [p.name for p in masks] == [f'{i:06d}.png' for i in (3, 7, 11, 15, 19, 23, 27)]
    assert [p.name for p in drawings] == [p.name for p in masks]


def test_arrays_and_a_single_frame(inferencer):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (3, 40, 48, 3), dtype=np.uint8)
    wave = (rng.standard_normal((2, 3 * 22050)) * 0.1).astype(np.float32)  # stereo, 22.05 kHz
    pred = inferencer(dict(frames=frames, audio=wave, sample_rate=22050, name='arr'))['predictions']
    assert pred['masks'].shape == (3, 40, 48) and pred['name'] == 'arr'
    single = inferencer(dict(frames=frames[:1], audio=wave[0], sample_rate=22050, audio_start=1.0))['predictions']
    assert single['masks'].shape == (1, 40, 48)


def test_silent_sound_is_valid(inferencer, tmp_path):
    frames = [np.full((32, 32, 3), 100, np.uint8)] * 8
    mkv = write_lossless_video(tmp_path / 'silent.mkv', frames, 4, np.zeros(32000, np.int16))
    assert inferencer(mkv)['predictions']['masks'].shape == (2, 32, 32)


def test_bad_inputs_name_the_file(inferencer, tmp_path):
    mute = str(tmp_path / 'mute.mp4')
    with VideoWriter(mute, Fraction(4)) as writer:
        for i in range(8):
            writer.write(np.zeros((16, 16, 3), np.uint8), i / 4)
    with pytest.raises(ValueError, match='mute.mp4.*no audio stream'):
        inferencer(mute)
    garbage = tmp_path / 'broken.mp4'
    garbage.write_bytes(b'\x00\x01 definitely not a video' * 20)
    with pytest.raises(RuntimeError, match='broken.mp4'):
        inferencer(str(garbage))
    short = write_lossless_video(tmp_path / 'short.mkv', [np.zeros((16, 16, 3), np.uint8)] * 2, 4,
                                 np.zeros(8000, np.int16))
    with pytest.raises(ValueError, match='short.mkv.*at least one second'):
        inferencer(short)
    with pytest.raises(FileNotFoundError, match='gone.mp4'):
        inferencer(str(tmp_path / 'gone.mp4'))
    with pytest.raises(ValueError, match='single image'):
        to_media_source(str(_png(tmp_path)))
    with pytest.raises(KeyError, match='sample_rate'):
        inferencer(dict(frames=np.zeros((1, 8, 8, 3), np.uint8), audio=np.zeros(16000)))
    with pytest.raises(ValueError, match='every_frame needs a video'):
        inferencer(dict(frames=np.zeros((1, 8, 8, 3), np.uint8), audio=np.zeros(16000), sample_rate=16000),
                   every_frame=True)
    with pytest.raises(KeyError, match='not inputs of this model'):
        inferencer(dict(video=short, aux_images=dict(maskige=str(tmp_path))))


def _png(tmp_path):
    import mmcv
    path = tmp_path / 'frame.png'
    mmcv.imwrite(np.zeros((8, 8, 3), np.uint8), str(path))
    return path


@pytest.mark.parametrize('device', DEVICES)
def test_devices(tiny_ckpt, video7s, device):
    inferencer = AVSInferencer(TINY_TPAVI, tiny_ckpt, device=device, show_progress=False)
    pred = inferencer(video7s, return_probs=True)['predictions']
    reference = AVSInferencer(TINY_TPAVI, tiny_ckpt, device='cpu', show_progress=False)(video7s, return_probs=True)
    np.testing.assert_allclose(pred['probs'], reference['predictions']['probs'], atol=1e-4)


def test_maskige_models_take_a_maskige_folder(tmp_path):
    """COMBO: its Maskige per frame comes from a folder ({frame index:06d}_mask_color.png), or it is refused."""
    config = osp.join(REPO, 'configs', 'combo', 'combo_tiny_synthetic_s4.py')
    ckpt = save_random_checkpoint(config, tmp_path / 'combo.pth')
    tool = load_tool(MAKE_VIDEO, 'make_synthetic_video')
    video = tool.write_synthetic_video(str(tmp_path / 'v.mp4'), seconds=2, fps=2, size=32, seed=0,
                                       maskige_dir=str(tmp_path / 'maskige'))['path']
    inferencer = AVSInferencer(config, ckpt, device='cpu', show_progress=False)
    with pytest.raises(ValueError, match="'maskige' images.*--dump-frames"):
        inferencer(video)
    (batch, ) = batches(inferencer, dict(video=video, aux_images=dict(maskige=str(tmp_path / 'maskige'))))
    assert batch['inputs']['maskige'][0].shape == (5, 3, 96, 96)
    pred = inferencer(dict(video=video, aux_images=dict(maskige=str(tmp_path / 'maskige'))))['predictions']
    assert pred['masks'].shape == (2, 32, 32) and pred['frame_indices'].tolist() == [1, 3]
    with pytest.raises(FileNotFoundError, match='000003_mask_color.png'):
        (tmp_path / 'maskige' / '000003_mask_color.png').unlink()
        inferencer(dict(video=video, aux_images=dict(maskige=str(tmp_path / 'maskige'))))


def test_waveform_models_get_windows_of_their_frames(tmp_path, video7s):
    """A config whose audio loader is a subclass of LoadClipAudio (LoadClipWaveform, for taggers and HF encoders)
    runs: sampled clips get the loader's 1 s windows, every-frame clips the 1 s centred on each frame."""
    from avsseg.apis.sampling import centred_windows
    cfg = Config.fromfile(TINY_TPAVI)
    waveform = [dict(type='LoadClipWaveform') if t['type'] == 'LoadClipAudio' else t for t in cfg.test_pipeline]
    assert waveform != cfg.test_pipeline
    cfg.test_dataloader.dataset.pipeline = waveform
    cfg.model.audio_backbone = dict(
        type='HFAudioEncoder', model_type='wav2vec2', feature_extractor=dict(type='Wav2Vec2FeatureExtractor'),
        config=dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                    conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=16,
                    num_conv_pos_embedding_groups=2))
    config = str(tmp_path / 'tpavi_wav2vec2.py')
    cfg.dump(config)
    inferencer = AVSInferencer(config, save_random_checkpoint(config, tmp_path / 'w.pth'), device='cpu',
                               show_progress=False)
    (first, _) = batches(inferencer, video7s)
    assert first['inputs']['audio'][0].shape == (5, 16000)
    every = batches(inferencer, video7s, every_frame=True)
    assert every[0]['inputs']['audio'][0].shape == (5, 16000)
    pred = inferencer(video7s)['predictions']
    assert pred['masks'].shape == (7, 64, 64)
    # sound before the start is silence; the window is centred on the time
    np.testing.assert_allclose(centred_windows(np.arange(1.0, 5.0), [0.0], 4), [[0, 0, 1, 2]])
