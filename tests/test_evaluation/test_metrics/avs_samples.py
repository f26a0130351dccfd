"""Per-frame data samples of clips, as the packer and the segmentor's postprocessing produce them, for metric tests.

A helper module (not a test file) shared by the metric tests of this folder.
"""
from itertools import chain

import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample


def make_clip(clip_id, seg_logits, gts, labeled=None, padded=None, pred=None, perturbation=None):
    """Per-frame SegDataSamples of one clip.

    Args:
        clip_id: the clip's ``clip_id`` metainfo.
        seg_logits: ``[T, C, H, W]`` float, or None.
        gts: ``[T, H, W]`` int ground truth (255 = unlabelled pixel).
        labeled / padded: per-frame ``is_labeled`` / ``is_padded`` flags (default all True / all False).
        pred: ``[T, H, W]`` class map stored as ``pred_sem_seg``, or None.
        perturbation: ``audio_perturbation`` metainfo of every frame, or None.
    """
    num_frames = gts.shape[0]
    labeled = [True] * num_frames if labeled is None else labeled
    padded = [False] * num_frames if padded is None else padded
    samples = []
    for t in range(num_frames):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=gts[t][None].long())
        if seg_logits is not None:
            s.seg_logits = PixelData(data=seg_logits[t])
        if pred is not None:
            s.pred_sem_seg = PixelData(data=pred[t][None].long())
        meta = dict(clip_id=clip_id, num_frames=num_frames, frame_idx=t, is_labeled=labeled[t],
                    is_padded=padded[t], ori_shape=tuple(gts.shape[1:]), img_shape=tuple(gts.shape[1:]))
        if perturbation is not None:
            meta['audio_perturbation'] = perturbation
        s.set_metainfo(meta)
        samples.append(s)
    return samples


def evaluate(metric, clips, batch_clips=2):
    """Run mmengine's Evaluator (which calls ``SegDataSample.to_dict()``) over batches of ``batch_clips`` clips."""
    evaluator = Evaluator(metric)
    for i in range(0, len(clips), batch_clips):
        evaluator.process(data_samples=list(chain.from_iterable(clips[i:i + batch_clips])), data_batch=None)
    return evaluator.evaluate(len(clips))


def as_dicts(clip):
    """The dicts ``BaseMetric.process`` receives for one clip's samples."""
    return [s.to_dict() for s in clip]


def random_binary_data(seed, num_clips=6, num_frames=5, size=8):
    """Logits ``[N, T, H, W]`` correlated with 0/1 ground truths ``[N, T, H, W]``; some ground truths empty."""
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(num_clips, num_frames, size, size, generator=gen) * 3
    gts = (torch.rand(num_clips, num_frames, size, size, generator=gen) < 0.4).long()
    logits = logits + 2.0 * (gts.float() * 2 - 1)
    gts[1, 2] = 0
    gts[num_clips - 2, :] = 0
    return logits, gts
