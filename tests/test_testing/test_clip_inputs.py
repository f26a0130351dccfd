"""avsseg.testing.demo_clip_batch / demo_clip_inputs: clips as the loader packs them and as the model receives them,
with per-frame flags, padded frames, ground truth and metainfo."""
import numpy as np
import pytest
import torch

from avsseg.models.data_preprocessor import AVSDataPreprocessor
from avsseg.testing import demo_clip_batch, demo_clip_inputs

MEAN = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
STD = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)


def test_batch_is_what_the_loader_yields():
    batch = demo_clip_batch(num_clips=2, num_frames=3, size=(16, 24), num_classes=4, aux_image_keys=('maskige', ),
                            audio_shape=(1, 8, 4))
    inputs, samples = batch['inputs'], batch['data_samples']
    assert set(inputs) == {'frames', 'audio', 'maskige'}
    assert [tuple(f.shape) for f in inputs['frames']] == [(3, 3, 16, 24)] * 2
    assert inputs['frames'][0].dtype == inputs['maskige'][0].dtype == torch.uint8
    assert [tuple(a.shape) for a in inputs['audio']] == [(3, 1, 8, 4)] * 2 and inputs['audio'][0].dtype == torch.float32
    assert len(samples) == 6
    for row, sample in enumerate(samples):
        b, t = divmod(row, 3)
        meta = sample.metainfo
        assert (meta['clip_id'], meta['frame_idx'], meta['num_frames']) == (f'demo_clip_{b}', t, 3)
        assert meta['is_labeled'] is True and meta['is_padded'] is False  # defaults: every frame labelled, no padding
        assert meta['img_shape'] == meta['ori_shape'] == meta['pad_shape'] == (16, 24)
        gt = sample.gt_sem_seg.data
        assert gt.shape == (1, 16, 24) and gt.dtype == torch.int64
        assert 0 <= gt.min() and gt.max() <= 3
    assert len(torch.cat([s.gt_sem_seg.data for s in samples]).unique()) == 4  # every class is drawn


def test_flags_per_frame_or_per_clip_and_what_padded_and_unlabelled_frames_hold():
    batch = demo_clip_batch(num_clips=2, num_frames=3, aux_image_keys=('maskige', ), labeled=[[True, False, True],
                            [True, False, False]], padded=[[False] * 3, [False, True, True]], ignore_rows=2)
    samples = batch['data_samples']
    assert [s.metainfo['is_labeled'] for s in samples] == [True, False, True, True, False, False]
    assert [s.metainfo['is_padded'] for s in samples] == [False] * 4 + [True] * 2
    for sample in samples:
        gt = sample.gt_sem_seg.data[0]
        if sample.metainfo['is_labeled']:
            assert (gt[:2] == 255).all() and (gt[2:] < 2).all()  # the band of ignored rows, then labels
        else:
            assert (gt == 255).all()
    frames, audio, maskige = (batch['inputs'][k][1] for k in ('frames', 'audio', 'maskige'))
    assert frames[1:].abs().sum() == audio[1:].abs().sum() == maskige[1:].abs().sum() == 0  # as the loaders pad
    assert frames[0].float().std() > 0 and audio[0].std() > 0 and maskige[0].float().std() > 0

    # T flags apply to every clip; without labels every real frame is labelled
    same = demo_clip_batch(num_clips=2, num_frames=3, labeled=[True, False, False])['data_samples']
    assert [s.metainfo['is_labeled'] for s in same] == [True, False, False] * 2
    padded = demo_clip_batch(num_clips=2, num_frames=3, padded=[False, False, True])['data_samples']
    assert [s.metainfo['is_labeled'] for s in padded] == [True, True, False] * 2


def test_seeded():
    a, b, c = (demo_clip_batch(seed=s) for s in (0, 0, 1))
    assert all(torch.equal(x, y) for x, y in zip(a['inputs']['frames'], b['inputs']['frames']))
    assert torch.equal(a['data_samples'][0].gt_sem_seg.data, b['data_samples'][0].gt_sem_seg.data)
    assert not torch.equal(a['inputs']['frames'][0], c['inputs']['frames'][0])
    assert not torch.equal(a['inputs']['audio'][0], c['inputs']['audio'][0])


def test_inputs_are_the_batch_through_the_default_preprocessor():
    clip_args = dict(num_clips=2, num_frames=2, size=40, aux_image_keys=('maskige', ), labeled=[True, False])
    batch = demo_clip_batch(**clip_args)
    data = demo_clip_inputs(**clip_args)
    inputs, samples = data['inputs'], data['data_samples']
    # padded to a multiple of 32 with zeros after ImageNet normalisation
    assert inputs['frames'].shape == inputs['maskige'].shape == (4, 3, 64, 64)
    assert inputs['frames'].dtype == torch.float32 and inputs['audio'].shape == (4, 1, 96, 64)
    expected = (batch['inputs']['frames'][1][1].float() - MEAN) / STD  # row 3: clip 1, frame 1
    torch.testing.assert_close(inputs['frames'][3, :, :40, :40], expected)
    assert (inputs['frames'][:, :, 40:] == 0).all() and (inputs['maskige'][:, :, :, 40:] == 0).all()
    torch.testing.assert_close(inputs['audio'][2:], batch['inputs']['audio'][1])
    for sample in samples:
        meta = sample.metainfo
        assert meta['batch_input_shape'] == meta['pad_shape'] == (64, 64)
        assert tuple(meta['img_shape']) == meta['ori_shape'] == (40, 40)
        assert [int(p) for p in meta['padding_size']] == [0, 24, 0, 24]
        gt = sample.gt_sem_seg.data
        assert gt.shape == (1, 64, 64) and (gt[:, 40:] == 255).all() and (gt[:, :, 40:] == 255).all()
    assert samples[0].gt_sem_seg.data[:, :40, :40].max() < 2


def test_inputs_through_a_given_preprocessor():
    clip_args = dict(num_clips=1, num_frames=2, size=32)
    module = AVSDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1], size=(48, 40))
    data = demo_clip_inputs(data_preprocessor=module, **clip_args)
    assert data['inputs']['frames'].shape == (2, 3, 48, 40)
    raw = demo_clip_batch(**clip_args)['inputs']['frames'][0].float()
    torch.testing.assert_close(data['inputs']['frames'][:, :, :32, :32], raw)
    built = demo_clip_inputs(data_preprocessor=dict(type='AVSDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1],
                                                    size=(48, 40)), **clip_args)
    assert torch.equal(built['inputs']['frames'], data['inputs']['frames'])
    # a preprocessor without the auxiliary key refuses the batch, as a model's would
    with pytest.raises(ValueError, match=r"inputs \['maskige'\] are not among its aux_image_keys"):
        demo_clip_inputs(data_preprocessor=module, aux_image_keys=('maskige', ), **clip_args)


@pytest.mark.parametrize('kwargs,message', [
    (dict(labeled=[True, False]), r'labeled must hold 3 flags .* or 2 lists of 3'),
    (dict(padded=[[False] * 3]), r'padded must hold 3 flags .* or 2 lists of 3'),
    (dict(labeled=[[True] * 3, [True, False]]), 'labeled must hold'),
    (dict(padded=[False, True, False]), 'padded frames at the end'),
    (dict(padded=[True, True, True]), 'at least one real frame'),
    (dict(labeled=[True, True, True], padded=[False, False, True]), 'clip 0 has labelled padded frames'),
    (dict(num_classes=0), 'num_classes must be in 1..255'),
    (dict(aux_image_keys=('frames', )), 'demo_clip_batch: auxiliary image key must be an identifier'),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        demo_clip_batch(num_clips=2, num_frames=3, **kwargs)


def test_numpy_flags():
    samples = demo_clip_batch(num_clips=2, num_frames=2, labeled=np.array([[1, 0], [0, 1]]))['data_samples']
    assert [s.metainfo['is_labeled'] for s in samples] == [True, False, False, True]
