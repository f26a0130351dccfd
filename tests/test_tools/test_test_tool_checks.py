"""tools/test.py refuses what would evaluate silently wrong: the checkpoint of another model (strict loading) and a
head built for another class count than the test dataset's."""
import glob
import os.path as osp
import subprocess

import numpy as np
import pytest
import soundfile as sf
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from tool_runner import REPO, TINY_S4, data_root_options, python_tool, run, tool_env

from avsseg.datasets.synthetic import generate_synthetic_avsbench
from avsseg.registry import MODELS


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('test_tool_checks')
    data_root = tmp / 'data'
    generate_synthetic_avsbench(str(data_root), 's4', seed=2, num_videos=4, image_size=32,
                                split_ratios=(0.5, 0.25, 0.25))
    init_default_scope('avsseg')
    state = MODELS.build(Config.fromfile(TINY_S4).model).state_dict()
    good = tmp / 'tiny.pth'
    torch.save(dict(state_dict=state, meta=dict()), good)
    # another model's checkpoint: same backbone, but no TPAVI neck / head of this config
    other = {k: v for k, v in state.items() if not k.startswith(('neck.', 'decode_head.'))}
    other['head.fc.weight'] = torch.zeros(2, 16)
    bad = tmp / 'other_model.pth'
    torch.save(dict(state_dict=other, meta=dict()), bad)
    return tmp, str(data_root), str(good), str(bad)


def _test(tmp, data_root, checkpoint, *options):
    cmd = python_tool('test.py', TINY_S4, checkpoint, '--work-dir', tmp / 'work', *data_root_options(data_root),
                      *options)
    return subprocess.run(cmd, env=tool_env(tmp), cwd=REPO, capture_output=True, text=True, timeout=300)


def test_matching_checkpoint_is_evaluated_and_audio_warnings_reach_the_log(setup):
    tmp, data_root, good, _ = setup
    # one test clip's sound is 2.5 s at 8 kHz: padded and resampled from a low rate, with warnings
    wav = sorted(glob.glob(osp.join(data_root, 's4_data', 'audio_wav', 'test', '*', '*.wav')))[0]
    sf.write(wav, np.full(int(8000 * 2.5), 0.1, np.float32), 8000)
    work_dir = tmp / 'work_ok'
    # data_root_options end in --cfg-options; a dataset base's persistent_workers=True with num_workers=0 is
    # turned off (torch refuses the pair), as tools/train.py does
    proc = run(python_tool('test.py', TINY_S4, good, '--work-dir', work_dir, *data_root_options(data_root),
                           'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=True'),
               tool_env(tmp))
    log = proc.stdout + proc.stderr
    assert 'class count: 2 classes in test_dataloader.dataset' in log and 'mF_batch_clips' in log
    assert 'persistent_workers turned off for test_dataloader' in log
    run_log = open(glob.glob(str(work_dir / '*' / '*.log'))[0]).read()
    assert f'LowSampleRateWarning: {wav}: sample rate 8000 Hz' in run_log
    assert f'AudioPaddingWarning: {wav}: audio gives 2 VGGish example(s) but 5 segments are needed' in run_log


def test_checkpoint_of_another_model_fails_naming_the_keys(setup):
    """mmengine's load_from used to load it non-strictly: an untrained head was evaluated and the tool exited 0."""
    tmp, data_root, _, bad = setup
    proc = _test(tmp, data_root, bad)
    assert proc.returncode != 0
    err = proc.stderr
    assert f'checkpoint {bad} does not match the model of the config' in err
    assert 'model weight(s) the checkpoint does not hold' in err and 'decode_head.' in err and 'neck.' in err
    assert '1 checkpoint key(s) the model does not have' in err and 'head.fc.weight' in err
    assert 'mF_batch_clips' not in proc.stdout + proc.stderr  # nothing was scored


def test_head_class_count_differs_from_the_dataset(setup):
    tmp, data_root, good, _ = setup
    proc = _test(tmp, data_root, good, 'model.decode_head.num_classes=3')
    assert proc.returncode != 0
    assert (f'model.decode_head.num_classes=3 but test_dataloader.dataset of {TINY_S4} has 2 classes (background, '
            'object)') in proc.stderr
