"""AVSDataPreprocessor: frames and the auxiliary images it lists are normalised and padded alike."""
import pytest
import torch
from mmseg.structures import SegDataSample

from avsseg.models.data_preprocessor import AVSDataPreprocessor


def _batch(sizes=((2, 10, 12), (2, 8, 14)), aux=('maskige', )):
    """Two clips of 2 frames of different sizes, with the given auxiliary image keys (3 channels)."""
    gen = torch.Generator().manual_seed(0)
    inputs = dict(frames=[], audio=[])
    for key in aux:
        inputs[key] = []
    for t, h, w in sizes:
        inputs['frames'].append(torch.randint(0, 256, (t, 3, h, w), generator=gen, dtype=torch.uint8))
        inputs['audio'].append(torch.randn(t, 1, 96, 64, generator=gen))
        for key in aux:
            inputs[key].append(torch.randint(0, 256, (t, 3, h, w), generator=gen, dtype=torch.uint8))
    samples = [SegDataSample() for t, _, _ in sizes for _ in range(t)]
    return dict(inputs=inputs, data_samples=samples)


def test_listed_aux_images_are_normalised_and_padded_exactly_like_frames():
    pre = AVSDataPreprocessor(size_divisor=16, pad_val=0, bgr_to_rgb=True, aux_image_keys=('maskige', ))
    batch = _batch()
    twin = _batch()
    twin['inputs']['frames'] = [m.clone() for m in batch['inputs']['maskige']]  # the Maskiges as frames
    out = pre(batch)['inputs']
    ref = AVSDataPreprocessor(size_divisor=16, pad_val=0, bgr_to_rgb=True, aux_image_keys=('maskige', ))(twin)
    assert out['maskige'].shape == out['frames'].shape == (4, 3, 16, 16)
    assert torch.equal(out['maskige'], ref['inputs']['frames'])
    # a listed key a batch does not carry is left out (e.g. the wo-SEM ablation loads no Maskige)
    plain = pre(_batch(aux=()))['inputs']
    assert set(plain) == {'frames', 'audio'}


def test_unlisted_and_mismatched_aux_images_are_errors():
    with pytest.raises(ValueError, match=r"inputs \['maskige'\] are not among its aux_image_keys \[\]"):
        AVSDataPreprocessor()(_batch())
    bad = _batch()
    bad['inputs']['maskige'][1] = bad['inputs']['maskige'][1][:, :, :4]
    with pytest.raises(ValueError, match="clip 1 of the batch has inputs\\['maskige'\\] \\(2, 3, 4, 14\\)"):
        AVSDataPreprocessor(aux_image_keys=('maskige', ))(bad)
    with pytest.raises(ValueError, match='cannot be an auxiliary image key'):
        AVSDataPreprocessor(aux_image_keys=('frames', ))
    with pytest.raises(ValueError, match='one value per channel'):
        AVSDataPreprocessor(aux_image_keys=dict(depth=dict(mean=[0.0])))


def test_aux_statistics_of_their_own_move_with_the_module():
    pre = AVSDataPreprocessor(size_divisor=1, aux_image_keys=dict(prior=dict(mean=[10, 20, 30], std=[2, 2, 2])))
    batch = _batch(sizes=((1, 4, 4), ), aux=('prior', ))
    out = pre(batch)['inputs']['prior']
    expected = (batch['inputs']['prior'][0].float() - torch.tensor([10., 20., 30.]).view(1, 3, 1, 1)) / 2
    assert torch.equal(out, expected)
    assert 'aux_mean_0' in dict(pre.named_buffers()) and 'aux_mean_0' not in pre.state_dict()
