"""ClipSampleFrames: random labelled real frames, every per-frame key sliced alike, fixed length per clip."""
import numpy as np
import pytest

from avsseg.datasets.transforms import ClipSampleFrames


def clip(labeled, padded):
    t = len(labeled)
    return dict(clip_id='c', imgs=[np.full((2, 2, 3), i, np.uint8) for i in range(t)],
                gt_seg_maps=[np.full((2, 2), i, np.uint8) for i in range(t)], img_paths=[f'{i}.jpg' for i in range(t)],
                silent_labels=[[i] for i in range(t)], audio=np.arange(t, dtype=np.float32)[:, None].repeat(4, 1),
                frame_flags=dict(is_labeled=list(labeled), is_padded=list(padded)), num_frames=t)


def test_keeps_labelled_real_frames_in_order():
    np.random.seed(0)
    for _ in range(20):
        out = ClipSampleFrames(2).transform(clip([1, 1, 0, 1, 1, 1], [0, 0, 0, 0, 1, 1]))
        kept = [int(img[0, 0, 0]) for img in out['imgs']]
        assert len(kept) == 2 and kept == sorted(kept) and len(set(kept)) == 2 and set(kept) <= {0, 1, 3}
        assert [int(m[0, 0]) for m in out['gt_seg_maps']] == kept
        assert out['img_paths'] == [f'{i}.jpg' for i in kept] and out['silent_labels'] == [[i] for i in kept]
        assert out['audio'][:, 0].tolist() == kept and out['num_frames'] == 2
        assert out['frame_flags']['is_padded'] == [0, 0]


def test_a_clip_with_fewer_frames_repeats_them():
    out = ClipSampleFrames(3).transform(clip([1, 0, 0, 0, 0], [0, 0, 0, 1, 1]))
    assert [int(img[0, 0, 0]) for img in out['imgs']] == [0, 0, 0] and out['num_frames'] == 3


def test_errors():
    with pytest.raises(ValueError, match='no labelled real frame'):
        ClipSampleFrames(1).transform(clip([0, 1], [0, 1]))
    with pytest.raises(ValueError, match='num_frames'):
        ClipSampleFrames(0)
    bad = clip([1, 1], [0, 0])
    bad['img_paths'] = ['0.jpg']
    with pytest.raises(ValueError, match='img_paths'):
        ClipSampleFrames(1).transform(bad)
