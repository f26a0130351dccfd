import pytest
import torch
from mmseg.structures import SegDataSample

from avsseg.structures import clip_length, frame_flags, labeled_index, metas_of, padded_input_size, real_frame_mask


def _metas(num_clips=2, num_frames=3, labeled=None, padded=None, **extra):
    """Clip-major metainfo dicts; ``labeled`` / ``padded``: flags per row (default all labelled / none padded)."""
    rows = num_clips * num_frames
    labeled = [True] * rows if labeled is None else labeled
    padded = [False] * rows if padded is None else padded
    return [dict(num_frames=num_frames, frame_idx=i % num_frames, is_labeled=labeled[i], is_padded=padded[i],
                 **extra) for i in range(rows)]


def _samples(metas):
    out = []
    for m in metas:
        s = SegDataSample()
        s.set_metainfo(m)
        out.append(s)
    return out


def test_metas_of_takes_dicts_and_data_samples():
    metas = _metas(1, 2)
    assert metas_of(metas) == metas
    from_samples = metas_of(_samples(metas))
    assert all(isinstance(m, dict) for m in from_samples)
    assert [m['frame_idx'] for m in from_samples] == [0, 1]
    mixed = metas_of([metas[0]] + _samples(metas[1:]))
    assert mixed[0] is metas[0] and mixed[1]['frame_idx'] == 1


@pytest.mark.parametrize('as_samples', [False, True])
def test_clip_length(as_samples):
    metas = _metas(2, 5)
    assert clip_length(_samples(metas) if as_samples else metas) == 5


def test_clip_length_errors():
    with pytest.raises(ValueError, match='data samples are needed'):
        clip_length([])
    metas = _metas(1, 3)
    del metas[1]['num_frames']
    with pytest.raises(ValueError, match='every frame needs num_frames'):
        clip_length(metas)
    with pytest.raises(ValueError, match=r'must have one length, got \[2, 3\]'):
        clip_length(_metas(1, 3) + _metas(1, 2))
    with pytest.raises(ValueError, match='5 frames in the batch is not a multiple of num_frames=3'):
        clip_length(_metas(2, 3)[:5])


def test_frame_flags():
    metas = _metas(1, 3, labeled=[True, False, True], padded=[False, False, True])
    labeled = frame_flags(metas, 'is_labeled')
    assert labeled.dtype == torch.bool and labeled.tolist() == [True, False, True]
    assert frame_flags(_samples(metas), 'is_padded', device='cpu').tolist() == [False, False, True]
    # an absent flag is False
    assert frame_flags([dict(num_frames=1)], 'is_padded').tolist() == [False]


def test_labeled_index():
    metas = _metas(2, 3, labeled=[True, False, False, True, True, False])
    index = labeled_index(metas)
    assert index.dtype == torch.long and index.tolist() == [0, 3, 4]
    assert labeled_index(_samples(metas), 'cpu').tolist() == [0, 3, 4]
    with pytest.raises(ValueError, match='no frame of the batch is labelled'):
        labeled_index(_metas(1, 3, labeled=[False] * 3))
    with pytest.raises(ValueError, match='no frame of the batch is labelled'):
        labeled_index([dict(num_frames=1)])  # no flag at all counts as unlabelled


def test_real_frame_mask():
    assert real_frame_mask(_metas(2, 3)) is None  # no padding: nothing to mask
    metas = _metas(2, 3, padded=[False, False, False, False, True, True])
    mask = real_frame_mask(_samples(metas))
    assert mask.dtype == torch.float32 and mask.tolist() == [1., 1., 1., 1., 0., 0.]
    assert real_frame_mask(metas, dtype=torch.float64).dtype == torch.float64


def test_padded_input_size_prefers_the_batch_input_shape():
    full = dict(batch_input_shape=(64, 96), pad_shape=(40, 50, 3), img_shape=torch.Size([32, 48]))
    assert padded_input_size(_metas(1, 1, **full)) == (64, 96)
    del full['batch_input_shape']
    assert padded_input_size(_samples(_metas(1, 1, **full))) == (40, 50)
    del full['pad_shape']
    size = padded_input_size(_metas(1, 1, **full))
    assert size == (32, 48) and all(type(s) is int for s in size)
    assert padded_input_size(_metas(1, 1, batch_input_shape=None, img_shape=(8, 8))) == (8, 8)


def test_padded_input_size_error():
    with pytest.raises(ValueError, match='none of batch_input_shape / pad_shape / img_shape'):
        padded_input_size(_metas(1, 1))
