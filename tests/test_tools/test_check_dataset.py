"""tools/dataset_converters/check_dataset.py on synthetic releases with damaged files: every problem is reported
in one run, with the file it concerns; a clean release passes."""
import importlib.util
import os
import os.path as osp
import shutil
import sys

import numpy as np
import pytest
import soundfile as sf
from PIL import Image
from tool_runner import REPO

from avsseg.datasets.synthetic import generate_synthetic_avsbench

S4_BASE = osp.join(REPO, 'configs', '_base_', 'datasets', 'avsbench_s4.py')
AVSS_BASE = osp.join(REPO, 'configs', '_base_', 'datasets', 'avsbench_semantic.py')


def _tool():
    path = osp.join(REPO, 'tools', 'dataset_converters', 'check_dataset.py')
    spec = importlib.util.spec_from_file_location('avsseg_tool_check_dataset', path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # worker processes find its functions by module name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def s4_release(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('s4') / 'release')
    generate_synthetic_avsbench(root, 's4', seed=3, num_videos=6, image_size=32, split_ratios=(0.5, 0.25, 0.25))
    return root


def _files(root, kind, split):
    out = []
    for dirpath, _, names in os.walk(osp.join(root, 's4_data', kind, split)):
        out += [osp.join(dirpath, n) for n in sorted(names)]
    return sorted(out)


def clip_of(path):
    return osp.basename(osp.dirname(path))


def test_clean_release_passes(s4_release, capsys):
    assert _tool().main([S4_BASE, '--data-root', s4_release, '--split', 'train', 'test']) == 0
    out = capsys.readouterr().out
    assert "split 'train'" in out and "split 'test'" in out and "split 'val'" not in out
    assert 'read with LoadClipFrames, LoadClipAnnotations, LoadClipAudio' in out
    assert 'check_dataset: no problem found' in out
    # S4 training supervises frame 1 only: one mask per training clip
    assert '2 clips: 10 frames, 2 masks, 2 audio files read' in out


def test_every_problem_of_a_split_is_reported_at_once(s4_release, tmp_path, capsys):
    root = str(tmp_path / 'release')
    shutil.copytree(s4_release, root)
    frames, masks = _files(root, 'visual_frames', 'test'), _files(root, 'gt_masks', 'test')
    # a truncated frame, a frame overwritten with garbage, a mask with grey edges, a mask of another size
    with open(frames[1], 'rb') as f:
        data = f.read()
    with open(frames[1], 'wb') as f:
        f.write(data[:len(data) // 2])
    with open(frames[7], 'wb') as f:
        f.write(b'not an image at all')
    grey = np.array(Image.open(masks[2]))
    grey[grey > 0] = 200
    grey[0, 0] = 100
    Image.fromarray(grey).save(masks[2])
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(masks[3])
    # 8 kHz audio for one clip (a warning, not a problem)
    wavs = sorted(p for p in _files(root, 'audio_wav', 'test'))
    sf.write(wavs[0], np.zeros(8000 * 5, np.float32), 8000)
    code = _tool().main([S4_BASE, '--data-root', root, '--split', 'test', '--cfg-options',
                         'test_dataloader.dataset.audio_source=wav'])
    out = capsys.readouterr().out
    assert code == 1
    assert '4 problem(s):' in out and 'check_dataset: 4 problem(s) found, 1 warning(s)' in out
    # frames[1] is the 2nd frame of the first test clip: its own index is named
    assert f'cannot decode frame 1 of clip {clip_of(frames[1])} ({frames[1]}): truncated PNG' in out
    assert f'({frames[7]}): not a readable image' in out
    assert f'binary mask {masks[2]}' in out and 'must hold only 0 and 255' in out
    assert f'mask {masks[3]} is 8x8' in out
    assert f'LowSampleRateWarning: {wavs[0]}: sample rate 8000 Hz' in out


def test_problems_of_the_clip_list_are_all_listed(s4_release, tmp_path, capsys):
    """When the csv or the file listing is wrong no file is decoded, and every finding is listed, not five."""
    root = str(tmp_path / 'release')
    shutil.copytree(s4_release, root)
    frames = _files(root, 'visual_frames', 'train')
    for path in frames[:7]:
        os.remove(path)
    code = _tool().main([S4_BASE, '--data-root', root, '--split', 'train', '--workers', '0'])
    out = capsys.readouterr().out
    assert code == 1 and '7 problem(s):' in out and 'the clip list could not be built' in out
    assert all(f'{path}' in out for path in frames[:7])


def test_parallel_workers_and_a_semantic_release(tmp_path, capsys):
    root = str(tmp_path / 'avss')
    generate_synthetic_avsbench(root, 'avss', seed=4, num_videos=6, image_size=32,
                                split_ratios=(0.5, 0.25, 0.25))
    assert _tool().main([AVSS_BASE, '--data-root', root, '--split', 'val', '--workers', '2']) == 0
    out = capsys.readouterr().out
    assert 'AVSBenchSemanticDataset' in out and 'no problem found' in out


def test_split_without_a_dataset_and_bad_root(tmp_path, capsys):
    tool = _tool()
    assert tool.main([S4_BASE, '--data-root', str(tmp_path / 'nowhere')]) == 2
    assert 'is not a directory' in capsys.readouterr().err
