"""tools/demo: the video demo writes an overlay video with the input's frames, times and sound; the image demo
draws one frame; bad inputs are refused naming the file. A tiny randomly initialised TPAVI and generated videos."""
import importlib.util
import os.path as osp
from fractions import Fraction

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from avsseg.apis import AVSInferencer, VideoWriter, iter_video_frames, probe_video
from avsseg.datasets.audio import load_audio
from avsseg.registry import MODELS

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TINY_TPAVI = osp.join(REPO, 'tests', 'data', 'configs', 'tpavi_tiny_synthetic_s4.py')


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, 'tools', 'demo', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('demo')
    init_default_scope('avsseg')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_TPAVI).model)
    ckpt = str(tmp / 'tiny.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    video = load_tool('make_synthetic_video').write_synthetic_video(
        str(tmp / 'in.mp4'), seconds=7, fps=4, size=64, seed=2, labels_dir=str(tmp / 'labels'))['path']
    return tmp, ckpt, video


def test_video_demo_keeps_frames_times_and_sound(setup):
    tmp, ckpt, video = setup
    out = str(tmp / 'out.mp4')
    assert load_tool('video_demo').main([video, TINY_TPAVI, ckpt, '--out', out, '--device', 'cpu']) == 0
    src, dst = probe_video(video), probe_video(out)
    assert dst.num_frames == src.num_frames == 28
    np.testing.assert_allclose(dst.frame_times, src.frame_times)
    assert dst.duration == pytest.approx(src.duration)
    assert (dst.width, dst.height) == (64, 64)  # binary model: no caption strip
    assert dst.audio_codec == src.audio_codec == 'aac'
    np.testing.assert_array_equal(load_audio(out)[0], load_audio(video)[0])  # the track is copied unchanged

    # every frame of second s shows the drawing of the mask predicted for second s
    inferencer = AVSInferencer(TINY_TPAVI, ckpt, device='cpu', show_progress=False)
    masks = inferencer(video)['predictions']['masks']
    for src_frame, dst_frame in zip(iter_video_frames(video), iter_video_frames(out)):
        second = min(int(src_frame.time), len(masks) - 1)
        drawn = inferencer.visualizer.draw_frame(src_frame.image, masks[second].astype(np.int64), with_labels=False)
        assert np.abs(dst_frame.image.astype(int) - drawn.astype(int)).mean() < 6, src_frame.index


def test_video_demo_every_frame_at_another_rate(setup):
    tmp, ckpt, video = setup
    out = str(tmp / 'every.mp4')
    load_tool('video_demo').main([video, TINY_TPAVI, ckpt, '--out', out, '--every-frame', '--fps-out', '2'])
    info = probe_video(out)
    assert info.num_frames == 14 and info.duration == pytest.approx(7.0)
    np.testing.assert_allclose(info.frame_times, np.arange(14) / 2)
    np.testing.assert_array_equal(load_audio(out)[0], load_audio(video)[0])


def test_dump_frames_writes_the_frames_the_model_sees(setup):
    tmp, ckpt, video = setup
    load_tool('video_demo').main([video, TINY_TPAVI, ckpt, '--dump-frames', str(tmp / 'dump')])
    names = sorted(p.name for p in (tmp / 'dump').iterdir())
    assert names == [f'{i:06d}.png' for i in (3, 7, 11, 15, 19, 23, 27)]
    assert mmcv.imread(str(tmp / 'dump' / '000003.png')).shape == (64, 64, 3)


def test_video_demo_refuses_bad_inputs_naming_the_file(setup):
    tmp, ckpt, _ = setup
    demo = load_tool('video_demo')
    mute = str(tmp / 'mute.mp4')
    with VideoWriter(mute, Fraction(4)) as writer:
        for i in range(8):
            writer.write(np.zeros((16, 16, 3), np.uint8), i / 4)
    with pytest.raises(SystemExit, match='mute.mp4.*no audio stream'):
        demo.main([mute, TINY_TPAVI, ckpt, '--out', str(tmp / 'x.mp4')])
    broken = tmp / 'broken.mp4'
    broken.write_bytes(b'\x00 not a video' * 30)
    with pytest.raises(SystemExit, match='broken.mp4'):
        demo.main([str(broken), TINY_TPAVI, ckpt, '--out', str(tmp / 'x.mp4')])
    short = str(tmp / 'short.mp4')
    load_tool('make_synthetic_video').write_synthetic_video(short, seconds=1, fps=2, size=32)
    with VideoWriter(str(tmp / 'half.mp4'), Fraction(4), audio_from=short) as writer:
        for i in range(2):
            writer.write(np.zeros((16, 16, 3), np.uint8), i / 4)
    with pytest.raises(SystemExit, match='half.mp4.*at least one second'):
        demo.main([str(tmp / 'half.mp4'), TINY_TPAVI, ckpt, '--out', str(tmp / 'x.mp4')])


def test_image_demo_draws_one_frame(setup):
    tmp, ckpt, video = setup
    frame = next(iter_video_frames(video)).image
    image = str(tmp / 'frame.png')
    mmcv.imwrite(mmcv.rgb2bgr(frame), image)
    out = str(tmp / 'drawn.png')
    assert load_tool('image_demo').main([image, video, TINY_TPAVI, ckpt, '--out', out, '--audio-start', '2']) == 0
    drawn = mmcv.imread(out)
    assert drawn.shape[1] == 64 and drawn.shape[0] > 64  # the caption strip above the frame
    with pytest.raises(SystemExit, match='nothing.wav'):
        load_tool('image_demo').main([image, str(tmp / 'nothing.wav'), TINY_TPAVI, ckpt, '--out', out])
