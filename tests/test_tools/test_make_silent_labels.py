import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from tool_runner import REPO, tool_env

from avsseg.datasets.transforms import LoadSilentObjectLabels

TOOL = osp.join(REPO, 'tools', 'dataset_converters', 'make_silent_labels.py')


def _tool():
    spec = importlib.util.spec_from_file_location('make_silent_labels', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _tool()


@pytest.fixture(scope='module')
def synthetic_avss(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('syn_avss'))
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    subprocess.run([sys.executable, osp.join(REPO, 'tools', 'dataset_converters', 'synthetic_avsbench.py'), root,
                    '--subset', 'avss', '--num-videos', '8', '--image-size', '48', '--overwrite'],
                   check=True, env=env, capture_output=True)
    return root


def test_oracle_synthetic(synthetic_avss, tmp_path, capsys):
    out = str(tmp_path / 'silent.json')
    assert tool.main([synthetic_avss, '--captioner', 'oracle-synthetic', '-o', out]) == 0
    assert 'frames' in capsys.readouterr().out
    with open(out) as f:
        labels = json.load(f)
    with open(osp.join(synthetic_avss, 'synthetic_avss.json')) as f:
        record = json.load(f)
    train = [c for c in record['clips'] if c['split'] == 'train']
    assert len(labels['frames']) == sum(len(c['paths']['frames']) for c in train)
    # per frame: exactly the categories of the visible objects that are not sounding
    for c in train:
        for t, frame in enumerate(c['paths']['frames']):
            sounding = {o['category'] for o in c['objects'] if o['sounding'] and o['visible_pixels'][t] > 0}
            expect = {o['category'] for o in c['objects'] if o['visible_pixels'][t] > 0} - sounding
            assert set(labels['frames'][frame]['silent']) == expect
    # the transform reads it back as dataset class indices
    load = LoadSilentObjectLabels(out, data_root=synthetic_avss)
    clip = train[0]
    paths = [osp.join(synthetic_avss, p) for p in clip['paths']['frames']]
    got = load(dict(img_paths=paths, clip_id=clip['uid']))['silent_labels']
    classes = labels['classes']
    assert got == [sorted(classes.index(c) + 1 for c in labels['frames'][p]['silent']) for p in clip['paths']['frames']]


def test_file_captioner_with_glove_and_avss_labels(tmp_path, capsys):
    root = tmp_path / 'avss'
    (root / 'v1s' / 'u0' / 'frames').mkdir(parents=True)
    (root / 'v1s' / 'u0' / 'labels_semantic').mkdir(parents=True)
    (root / 'label2idx.json').write_text(json.dumps({'background': 0, 'airplane': 1, 'bird': 2, 'woman': 3}))
    label = np.zeros((4, 4), np.uint8)
    label[1:3, 1:3] = 3
    Image.fromarray(label).save(root / 'v1s' / 'u0' / 'labels_semantic' / '0.png')
    captions = tmp_path / 'captions.json'
    captions.write_text(json.dumps({
        'v1s/u0/frames/0.jpg': "There is a pink parrot standing on a woman's hand",
        'v1s/u0/frames/1.jpg': dict(caption='Two jets over birds', gt=['bird'])}))
    glove = tmp_path / 'glove.txt'
    glove.write_text('airplane 1 0 0\nbird 0 1 0\nparrot 0.1 0.9 0\nwoman 0 0 1\nhand 0.1 0.1 0.8\njet 0.9 0.1 0\n')
    out = str(tmp_path / 'silent.json')
    assert tool.main([str(root), '--captioner', 'file', '--captions', str(captions), '--glove', str(glove),
                      '--captioner-name', 'blip-test', '-o', out]) == 0
    with open(out) as f:
        labels = json.load(f)
    assert labels['classes'] == ['airplane', 'bird', 'woman'] and labels['captioner'] == 'file:blip-test'
    assert labels['frames']['v1s/u0/frames/0.jpg']['silent'] == ['bird']
    assert labels['frames']['v1s/u0/frames/1.jpg']['nouns'] == ['jet', 'bird']
    assert labels['frames']['v1s/u0/frames/1.jpg']['silent'] == ['airplane']
    assert 'similarity' in capsys.readouterr().out
    # a frame with neither a "gt" entry nor a label file
    captions.write_text(json.dumps({'v1s/u0/frames/2.jpg': 'a bird'}))
    assert tool.main([str(root), '--captioner', 'file', '--captions', str(captions), '--glove', str(glove),
                      '-o', out]) == 1
    assert "frame 'v1s/u0/frames/2.jpg' has no \"gt\" and no labels_semantic label" in capsys.readouterr().err
    # a noun that is no category name needs word vectors
    captions.write_text(json.dumps({'v1s/u0/frames/0.jpg': 'a parrot'}))
    assert tool.main([str(root), '--captioner', 'file', '--captions', str(captions), '-o', out]) == 1
    assert 'no word vectors' in capsys.readouterr().err


def test_cli_runs_as_a_script(synthetic_avss, tmp_path):
    out = str(tmp_path / 'silent.json')
    proc = subprocess.run([sys.executable, TOOL, synthetic_avss, '--captioner', 'oracle-synthetic', '--split', 'val',
                           '-o', out], env=tool_env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with open(out) as f:
        assert json.load(f)['split'] == 'val'
