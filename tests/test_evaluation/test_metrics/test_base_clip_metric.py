"""BaseClipMetric: clip grouping, scored-frame selection, perturbation notes and the log, without any scoring."""
from unittest import mock

import pytest
import torch
from avs_samples import as_dicts, evaluate, make_clip

from avsseg.evaluation.metrics import BaseClipMetric


class ScoredFrameCounter(BaseClipMetric):
    """Counts the scored frames and their valid ground-truth pixels: the base class with no kernel behind it."""

    def clip_entry(self, clip):
        gts = [self.ground_truth(s, tuple(s['ori_shape']), self.describe_frame(s)) for s in clip]
        return dict(frames=[s['frame_idx'] for s, gt in zip(clip, gts) if gt is not None],
                    pixels=sum(int((gt != self.ignore_index).sum()) for gt in gts if gt is not None))

    def aggregate(self, results):
        return dict(num_frames_scored=sum(len(r['frames']) for r in results),
                    num_pixels=sum(r['pixels'] for r in results), num_clips=len(results))

    def summary(self):
        return 'counter'


def clip_of(clip_id, num_frames=3, **kwargs):
    return make_clip(clip_id, None, torch.zeros(num_frames, 4, 4, dtype=torch.long), **kwargs)


def test_is_abstract():
    with pytest.raises(TypeError, match='abstract'):
        BaseClipMetric()


def test_one_entry_per_clip_even_for_a_clip_repeated_by_sampler_padding():
    metric = ScoredFrameCounter()
    # two clips in one batch, then the last one again (DefaultSampler pads with repeats for more ranks)
    metric.process(None, as_dicts(clip_of('a') + clip_of('b') + clip_of('b')))
    assert [r['clip_id'] for r in metric.results] == ['a', 'b', 'b']
    assert all(r['frames'] == [0, 1, 2] and r['perturbation'] is None for r in metric.results)


def test_scored_frames_unlabelled_padded_and_all_ignore():
    gts = torch.zeros(4, 4, 4, dtype=torch.long)
    gts[3] = 255                        # labelled, but nothing but ignore pixels
    gts[1, 0] = 255                     # 4 ignore pixels
    clip = make_clip('a', None, gts, labeled=[True, True, False, True], padded=[False, False, True, False])
    counted = evaluate(ScoredFrameCounter(), [clip])
    assert counted == dict(num_frames_scored=2, num_pixels=16 + 12, num_clips=1)
    # a scored padded frame gets an all-background ground truth of the prediction's size
    counted = evaluate(ScoredFrameCounter(score_padded_frames=True), [clip])
    assert counted == dict(num_frames_scored=3, num_pixels=16 + 12 + 16, num_clips=1)
    metric = ScoredFrameCounter(score_padded_frames=True)
    padded_gt = metric.ground_truth(as_dicts(clip)[2], (3, 5), 'here')
    assert padded_gt.shape == (3, 5) and not padded_gt.any()


def test_ground_truth_padding_margin_is_cropped_else_error():
    gts = torch.full((1, 6, 5), 255, dtype=torch.long)
    gts[0, :4, :4] = torch.arange(16).view(4, 4) % 2
    sample = as_dicts(make_clip('a', None, gts))[0]
    metric = ScoredFrameCounter()
    assert torch.equal(metric.ground_truth(sample, (4, 4), 'here'), gts[0, :4, :4])
    sample['gt_sem_seg']['data'][0, 5, 0] = 1
    with pytest.raises(ValueError, match=r'ScoredFrameCounter: here: gt_sem_seg is \(6, 5\)'):
        metric.ground_truth(sample, (4, 4), 'here')
    with pytest.raises(ValueError, match='gt_sem_seg is'):
        metric.ground_truth(sample, (7, 4), 'here')


def test_bad_samples_raise_naming_the_frame():
    clip = as_dicts(clip_of('a'))
    with pytest.raises(ValueError, match=r'clip a has frames \[0, 1\]'):   # a clip split over two batches
        ScoredFrameCounter().process(None, clip[:2])
    with pytest.raises(TypeError, match='expects dicts'):
        ScoredFrameCounter().process(None, clip_of('a'))
    del clip[1]['is_labeled']
    with pytest.raises(KeyError, match='clip a frame 1 has no metainfo "is_labeled"'):
        ScoredFrameCounter().process(None, clip)
    sample = as_dicts(clip_of('a'))[0]
    del sample['gt_sem_seg']
    with pytest.raises(KeyError, match='clip a frame 0 is labelled but its data sample has no gt_sem_seg'):
        ScoredFrameCounter().process(None, [dict(sample, num_frames=1)])
    with pytest.raises(ValueError, match='beta2'):
        ScoredFrameCounter(beta2=0)


def test_check_classes():
    metric = ScoredFrameCounter()
    gt = torch.tensor([[0, 1], [255, 2]])
    assert metric.check_classes(gt, 3, 'here').tolist() == [[True, True], [False, True]]
    with pytest.raises(ValueError, match=r'here: ground-truth classes must lie in \[0, 2\) or be 255, found \[2\]'):
        metric.check_classes(gt, 2, 'here')


def test_describe_perturbation():
    describe = ScoredFrameCounter().describe_perturbation
    assert describe(None) is None
    assert describe('silence') == 'silence'
    # the per-clip seed and string parameters (the partner clip) differ per clip: not shown
    assert describe(dict(type='swap', partner='b', seed=3)) == 'swap'
    assert describe(dict(type='noise', snr_db=10, seed=3, scale=0.5)) == 'noise(scale=0.5, snr_db=10)'
    with pytest.raises(ValueError, match='no "type"'):
        describe(dict(snr_db=10))
    with pytest.raises(TypeError, match='a dict, a str or None'):
        describe(3)


def test_perturbation_is_returned_and_logged():
    clips = [clip_of(name, perturbation=dict(type='noise', snr_db=10, partner=name, seed=seed))
             for name, seed in (('a', 11), ('b', 12))]
    with mock.patch('avsseg.evaluation.metrics.base_clip_metric.print_log') as log:
        metrics = evaluate(ScoredFrameCounter(), clips)
    message = log.call_args[0][0]
    assert metrics['audio_perturbation'] == 'noise(snr_db=10)'
    assert message.startswith('counter; audio perturbation: noise(snr_db=10)\n')
    assert 'num_frames_scored' in message and 'audio_perturbation' not in message.split('\n', 1)[1]
    assert 'audio_perturbation' not in evaluate(ScoredFrameCounter(), [clip_of('a')])
