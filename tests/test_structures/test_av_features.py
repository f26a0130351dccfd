import copy
import pickle

import pytest
import torch
from mmseg.models.decode_heads import FPNHead

from avsseg.structures import AVFeatures


def _levels(n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, 4, 8, 8, generator=g), torch.randn(n, 6, 4, 4, generator=g)]


def _bundle(**kwargs):
    fields = dict(audio=torch.randn(4, 5), num_frames=2, frame_mask=torch.tensor([1., 1., 1., 0.]),
                  extras=dict(tpavi_audio=(None, torch.randn(4, 3))))
    fields.update(kwargs)
    return AVFeatures(_levels(), **fields)


def test_is_the_tuple_of_visual_levels():
    levels = _levels()
    feats = AVFeatures(levels, audio=torch.randn(4, 5), num_frames=2)
    assert isinstance(feats, tuple) and len(feats) == 2
    assert feats[0] is levels[0] and feats[-1] is levels[1]
    assert [f.shape[1] for f in feats] == [4, 6]
    a, b = feats  # unpacks like a tuple
    assert a is levels[0] and b is levels[1]
    assert type(feats.visual) is tuple and feats.visual == tuple(levels)
    assert type(feats[:1]) is tuple  # slicing gives plain visual levels


def test_defaults():
    feats = AVFeatures(_levels())
    assert feats.audio is None and feats.num_frames is None and feats.frame_mask is None and feats.extras == {}


def test_extras_are_copied_not_shared():
    extras = dict(prior=1)
    feats = AVFeatures(_levels(), extras=extras)
    extras['prior'] = 2
    assert feats.extras == dict(prior=1)


def test_replace_changes_only_the_named_fields():
    feats = _bundle()
    new_audio = torch.randn(4, 5)
    out = feats.replace(audio=new_audio)
    assert isinstance(out, AVFeatures) and out is not feats
    assert out.audio is new_audio and feats.audio is not new_audio  # the original is unchanged
    assert out.visual == feats.visual and out.num_frames == 2 and out.frame_mask is feats.frame_mask
    assert out.extras == feats.extras and out.extras is not feats.extras

    fused = [torch.zeros(4, 3, 2, 2)]
    out = feats.replace(visual=fused, extras={**feats.extras, 'query_feats': [1]})
    assert len(out) == 1 and out[0] is fused[0] and out.audio is feats.audio
    assert set(out.extras) == {'tpavi_audio', 'query_feats'} and set(feats.extras) == {'tpavi_audio'}

    out = feats.replace(frame_mask=None, num_frames=1)
    assert out.frame_mask is None and out.num_frames == 1 and feats.num_frames == 2


def test_replace_rejects_unknown_fields():
    with pytest.raises(TypeError, match=r"unknown field\(s\) \['audios'\]"):
        _bundle().replace(audios=None)


def test_pickle_and_deepcopy_keep_every_field():
    feats = _bundle()
    for copied in (pickle.loads(pickle.dumps(feats)), copy.deepcopy(feats)):
        assert isinstance(copied, AVFeatures) and len(copied) == 2
        for a, b in zip(copied, feats):
            torch.testing.assert_close(a, b)
        torch.testing.assert_close(copied.audio, feats.audio)
        torch.testing.assert_close(copied.frame_mask, feats.frame_mask)
        assert copied.num_frames == 2 and copied.extras['tpavi_audio'][0] is None


def test_repr_names_shapes():
    text = repr(_bundle())
    assert '(4, 4, 8, 8)' in text and 'audio=(4, 5)' in text and 'num_frames=2' in text
    assert 'padded=True' in text and "extras=['tpavi_audio']" in text


def test_a_stock_mmseg_head_takes_the_bundle_as_its_inputs():
    """mmseg's heads index their inputs (``inputs[i] for i in in_index``): the bundle works like the tuple."""
    torch.manual_seed(0)
    head = FPNHead(in_channels=[4, 6], in_index=[0, 1], feature_strides=[4, 8], channels=4, num_classes=2,
                   out_channels=1, threshold=0.5, loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))
    head.eval()
    feats = _bundle()
    with torch.no_grad():
        from_bundle = head(feats)
        from_tuple = head(tuple(feats.visual))
    assert from_bundle.shape == (4, 1, 8, 8)
    torch.testing.assert_close(from_bundle, from_tuple)
