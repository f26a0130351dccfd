"""avss_labels_to_avsbench.py: MS3 class-index masks from AVSS v1m labels, with the join and split checks."""
import csv
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'dataset_converters', 'avss_labels_to_avsbench.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('avss_labels_to_avsbench', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_csv(path, header, rows):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', newline='') as f:
        csv.writer(f).writerows([header, *rows])


def png(path, array):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path)


def make_layout(root, avss_split='train', second_start=20):
    """Two MS3 clips (8x8 masks) and their v1m clips (4x4 labels): clip A = class 5 left, class 7 right;
    clip B's frame 1 has an MS3 object and no AVSS object."""
    ms3, avss = osp.join(root, 'ms3'), osp.join(root, 'avss')
    write_csv(osp.join(ms3, 'ms3_meta_data.csv'), ['name', 'start', 'split'],
              [['vidA', '10', 'train'], ['vidB', '20', 'test']])
    write_csv(osp.join(avss, 'metadata.csv'), ['vid', 'uid', 's_min', 's_sec', 'a_obj', 'split', 'label'],
              [['vidA', 'vidA_0', '0', '10', 'x', avss_split, 'v1m'],
               ['vidB', 'vidB_3', '0', str(second_start), 'x', 'test', 'v1m'],
               ['vidA', 'vidA_9', '0', '10', 'x', 'train', 'v1s']])  # v1s rows are not joined
    for name, split, uid in (('vidA', 'train', 'vidA_0'), ('vidB', 'test', 'vidB_3')):
        for i in range(5):
            mask = np.zeros((8, 8), np.uint8)
            mask[2:6, 0:8] = 255  # MS3 foreground: rows 2..5
            png(osp.join(ms3, 'ms3_data', 'gt_masks', split, name, f'{name}_{i + 1}.png'), mask)
            labels = np.zeros((4, 4), np.uint8)
            if not (name == 'vidB' and i == 1):
                labels[1:2, 0:2] = 5  # AVSS: rows 2..3 (at 8x8) left = 5, right = 7; rows 4..5 unlabelled
                labels[1:2, 2:4] = 7
            png(osp.join(avss, 'v1m', uid, 'labels_semantic', f'{i}.png'), labels)
    return ms3, avss


def test_converts_with_nearest_class_fill_and_reports(tmp_path, capsys):
    tool = load_tool()
    ms3, avss = make_layout(str(tmp_path))
    assert tool.main([ms3, avss]) == 0
    out = np.asarray(Image.open(osp.join(ms3, 'ms3_data', 'gt_masks_semantic', 'train', 'vidA', 'vidA_1.png')))
    assert out.shape == (8, 8)
    assert (out[:2] == 0).all() and (out[6:] == 0).all()  # MS3 background stays background
    assert (out[2:4, :4] == 5).all() and (out[2:4, 4:] == 7).all()
    assert (out[4:6, :4] == 5).all() and (out[4:6, 4:] == 7).all()  # MS3 object, AVSS background: nearest class
    b1 = np.asarray(Image.open(osp.join(ms3, 'ms3_data', 'gt_masks_semantic', 'test', 'vidB', 'vidB_2.png')))
    assert (b1[2:6] == 255).all() and (b1[:2] == 0).all()  # no AVSS object: the MS3 object is ignored, listed
    report = json.load(open(osp.join(ms3, 'ms3_data', 'gt_masks_semantic', 'report.json')))
    assert report['converted_clips'] == 2 and report['frames'] == 10
    assert report['frames_without_avss_object'] == ['vidB_2']
    assert report['frames_below_min_iou'] == 10  # AVSS covers half the MS3 object (IoU 0.5) or none of it
    assert report['avss_classes_present'] == [5, 7]
    assert '2 of 2 MS3 clips converted' in capsys.readouterr().out


def test_split_mismatch_and_missing_clips_are_errors(tmp_path):
    tool = load_tool()
    ms3, avss = make_layout(str(tmp_path / 'a'), avss_split='val')
    with pytest.raises(SystemExit, match=r'different splits.*vidA \(MS3 train, AVSS val\)'):
        tool.main([ms3, avss])
    assert tool.main([ms3, avss, '--allow-split-mismatch']) == 0
    ms3, avss = make_layout(str(tmp_path / 'b'), second_start=21)
    with pytest.raises(SystemExit, match=r"1 of 2 MS3 clips have no v1m clip.*vidB"):
        tool.main([ms3, avss])
    assert tool.main([ms3, avss, '--allow-missing']) == 0
    assert not osp.exists(osp.join(ms3, 'ms3_data', 'gt_masks_semantic', 'test', 'vidB'))
    with pytest.raises(SystemExit, match='no v1m clip'):
        tool.main([ms3, avss, '--join', 'uid'])
