"""AVSBenchMS3ClassIndexDataset reads the class-index masks avss_labels_to_avsbench.py writes for MS3."""
import importlib.util
import os.path as osp

import numpy as np
import pytest

from avsseg.datasets.transforms import LoadClipAnnotations, LoadClipFrames
from avsseg.registry import DATASETS

TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'dataset_converters', 'avss_labels_to_avsbench.py')


def converter():
    spec = importlib.util.spec_from_file_location('avss_labels_to_avsbench', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_class_index_masks_from_the_converter(tmp_path, fake):
    # MS3 clip 'u2_vid' (start 0) is AVSS v1m clip u2 (vid 'u2_vid', 0 min 0 s) with class 17
    ms3 = fake.make_ms3(tmp_path / 'Multi-sources', clips=[('u2_vid', 'train')], pkl=False)
    avss = fake.make_avss(tmp_path / 'AVSBench_semantic', clips=[('u2', 'v1m', 'train', 'man', 17)])
    assert converter().main([ms3, avss]) == 0
    ds = DATASETS.build(dict(type='AVSBenchMS3ClassIndexDataset', split='train', data_root=ms3, audio_source='wav',
                             pipeline=[LoadClipFrames(), LoadClipAnnotations()]))
    info = ds.get_data_info(0)
    assert info['label_format'] == 'index' and info['num_classes'] == 71
    assert info['seg_map_paths'][0] == osp.join(ms3, 'ms3_data', 'gt_masks_semantic', 'train', 'u2_vid',
                                                'u2_vid_1.png')
    item = ds[0]
    for t in range(5):
        binary = fake.mask_array(t) > 0
        gt = item['gt_seg_maps'][t]
        assert (gt[~binary] == 0).all() and set(np.unique(gt[binary]).tolist()) <= {17, 255}
        assert (gt[binary] == 17).any()


def test_missing_class_index_masks_are_reported(tmp_path, fake):
    ms3 = fake.make_ms3(tmp_path / 'Multi-sources', clips=[('u2_vid', 'train')], pkl=False)
    with pytest.raises(FileNotFoundError, match='missing mask 0: .*gt_masks_semantic/train/u2_vid/u2_vid_1.png'):
        DATASETS.build(dict(type='AVSBenchMS3ClassIndexDataset', split='train', data_root=ms3, audio_source='wav',
                            pipeline=[LoadClipFrames(), LoadClipAnnotations()]))
