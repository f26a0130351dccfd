"""PotentialInstanceMetric: I (the papers' instance count), its mean per frame, and the recall of the objects."""
import math

import pytest
import torch
from avs_samples import evaluate, make_clip
from mmengine.structures import InstanceData

from avsseg.registry import METRICS

CLASSES = ('disc', 'square', 'triangle')


def _evaluate(metric, clips, **kwargs):
    """The metric's results without their default prefix ``instances/``, which every key must carry."""
    res = evaluate(metric, clips, **kwargs)
    assert res and all(k.startswith('instances/') for k in res), res
    return {k[len('instances/'):]: v for k, v in res.items()}


def square(r0, r1, c0, c1, size=8):
    m = torch.zeros(size, size, dtype=torch.bool)
    m[r0:r1, c0:c1] = True
    return m


def with_instances(clip, instances, category=None):
    for sample, (labels, masks) in zip(clip, instances):
        sample.pred_instances = InstanceData(labels=torch.tensor(labels, dtype=torch.long),
                                             masks=torch.stack(masks) if masks else torch.zeros(0, 8, 8).bool())
        if category is not None:
            sample.set_metainfo(dict(category=category))
    return clip


def binary_clip(clip_id, category, instances, labeled=None, padded=None):
    gts = torch.zeros(len(instances), 8, 8, dtype=torch.long)
    gts[:, 0:4, 0:4] = 1  # the sounding object
    return with_instances(make_clip(clip_id, None, gts, labeled=labeled, padded=padded), instances, category)


def test_hand_case_counts_and_category_recall():
    obj = square(0, 4, 0, 4)
    clips = [
        # triangle (label 2): frame 0 covers it with the right label, frame 1 with the wrong one (IoU 1), frame 2
        # with the right label but IoU 0.5 exactly (counts: >= 0.5), frame 3 IoU 0.25 (misses)
        binary_clip('a', 'triangle', [([2, 0], [obj, square(4, 8, 4, 8)]), ([1], [obj]), ([2], [square(0, 4, 0, 2)]),
                                      ([2], [square(0, 2, 0, 2)])]),
        # frame 1 not labelled: its 3 instances are not counted
        binary_clip('b', 'disc', [([0], [obj]), ([0, 1, 2], [obj, obj, obj])], labeled=[True, False]),
    ]
    metric = dict(type='PotentialInstanceMetric', classes=CLASSES)
    res = _evaluate(METRICS.build(metric), clips, batch_clips=1)
    assert res['I'] == 2 + 1 + 1 + 1 + 1
    assert res['inst_frames'] == 5 and res['inst_gt'] == 5
    assert res['I_per_frame'] == pytest.approx(6 / 5)
    assert res['inst_recall'] == pytest.approx(3 / 5)  # a0, a2, b0
    assert res['inst_recall_any'] == pytest.approx(4 / 5)  # also a1


def test_silent_clips_class_index_gt_and_padded_frames():
    gts = torch.zeros(2, 8, 8, dtype=torch.long)
    gts[0, 0:4, 0:4] = 2  # class-index GT: category 1 and category 2
    gts[0, 4:8, 4:8] = 3
    clip = with_instances(make_clip('c', None, gts, padded=[False, True]),
                          [([1, 2], [square(0, 4, 0, 4), square(4, 8, 0, 4)]), ([0], [square(0, 8, 0, 8)])])
    silent = binary_clip('s', 'silent', [([0], [square(0, 4, 0, 4)])])
    res = _evaluate(METRICS.build(dict(type='PotentialInstanceMetric', classes=CLASSES)), [clip, silent])
    assert res['I'] == 3 and res['inst_frames'] == 2  # the padded frame is not scored
    assert res['inst_gt'] == 2 and res['inst_recall'] == pytest.approx(0.5)
    # without classes, binary frames count for the class-agnostic recall only
    res = _evaluate(METRICS.build(dict(type='PotentialInstanceMetric')), [binary_clip('d', 'disc', [([1], [
        square(0, 4, 0, 4)])])])
    assert 'inst_recall' not in res and res['inst_recall_any'] == 1.0 and res['I'] == 1
    empty = _evaluate(METRICS.build(dict(type='PotentialInstanceMetric')), [silent])
    assert math.isnan(empty['inst_recall_any']) and empty['I_per_frame'] == 1.0


def test_errors_name_the_frame():
    gts = torch.zeros(1, 8, 8, dtype=torch.long)
    with pytest.raises(KeyError, match='clip e frame 0 has no pred_instances'):
        _evaluate(METRICS.build(dict(type='PotentialInstanceMetric')), [make_clip('e', None, gts)])
    with pytest.raises(ValueError, match="clip f frame 0 has category 'hexagon'"):
        _evaluate(METRICS.build(dict(type='PotentialInstanceMetric', classes=CLASSES)),
                  [binary_clip('f', 'hexagon', [([0], [square(0, 4, 0, 4)])])])
