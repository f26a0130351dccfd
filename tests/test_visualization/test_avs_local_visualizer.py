"""AVSLocalVisualizer and draw_frame on tiny hand-made frames."""
import mmcv
import mmengine.dist.utils as dist_utils
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from mmseg.visualization import SegLocalVisualizer

from avsseg.registry import VISUALIZERS
from avsseg.visualization import AVSLocalVisualizer, draw_frame, gt_at_ori_shape

RED = [[0, 0, 0], [255, 0, 0]]
WHITE = [[0, 0, 0], [255, 255, 255]]
SEMANTIC_CLASSES = ('background', 'dog', 'car', 'piano')
SEMANTIC_PALETTE = [[0, 0, 0], [200, 0, 0], [0, 200, 0], [0, 0, 200]]


def square_mask(size=20, lo=5, hi=15, value=1):
    mask = np.zeros((size, size), np.int64)
    mask[lo:hi, lo:hi] = value
    return mask


def make_sample(h=6, w=8, is_labeled=True, is_padded=False, flip=False, pad=2):
    """A frame's model output: prediction at ori_shape, ground truth padded by ``pad`` at bottom/right."""
    pred = torch.zeros(1, h, w, dtype=torch.long)
    pred[0, :, :w // 2] = 1  # left half predicted as object
    gt = torch.full((1, h + pad, w + pad), 255, dtype=torch.long)
    gt[0, :h, :w] = 0
    gt[0, :h, :w // 4] = 1  # object = left quarter
    if flip:
        gt[0, :h, :w] = gt[0, :h, :w].flip(-1)  # stored as the model saw it (flipped)
    sample = SegDataSample(metainfo=dict(clip_id='c', frame_idx=0, is_labeled=is_labeled, is_padded=is_padded,
                                         ori_shape=(h, w), img_shape=(h, w), padding_size=[0, pad, 0, pad],
                                         flip=flip, flip_direction='horizontal'))
    sample.pred_sem_seg = PixelData(data=pred)
    sample.gt_sem_seg = PixelData(data=gt)
    return sample


def make_visualizer(name, **kwargs):
    kwargs.setdefault('classes', ('background', 'object'))
    kwargs.setdefault('palette', RED)
    return AVSLocalVisualizer(name=name, **kwargs)


def test_registered_and_built_from_config():
    assert VISUALIZERS.get('AVSLocalVisualizer') is AVSLocalVisualizer
    assert issubclass(AVSLocalVisualizer, SegLocalVisualizer)
    vis = VISUALIZERS.build(dict(type='AVSLocalVisualizer', name='avs_local_vis_build', alpha=0.3, max_size=64,
                                 classes=SEMANTIC_CLASSES, palette=SEMANTIC_PALETTE))
    assert isinstance(vis, AVSLocalVisualizer)
    assert vis.alpha == 0.3 and vis.max_size == 64
    # classes and palette are not swapped (SegLocalVisualizer.__init__ swaps them) and no Cityscapes default
    assert vis.dataset_meta == dict(classes=SEMANTIC_CLASSES, palette=SEMANTIC_PALETTE)
    assert make_visualizer('avs_local_vis_empty', classes=None, palette=None).dataset_meta is None


def test_binary_blend_and_background_untouched():
    image = np.full((20, 20, 3), 100, np.uint8)
    drawn = draw_frame(image, square_mask(), palette=RED, alpha=0.5, with_labels=False)
    assert drawn.shape == (20, 20, 3)
    assert drawn[10, 10].tolist() == [178, 50, 50]  # 100 * 0.5 + 255 * 0.5 = 177.5 -> 178
    assert drawn[0, 0].tolist() == [100, 100, 100]  # background (class 0) is not tinted
    assert drawn[5, 10].tolist() == [255, 0, 0]  # the inner contour line, in the class colour
    assert drawn[4, 10].tolist() == [255, 255, 255]  # the outer one, contrasting with it (red is dark: white)
    assert drawn[6, 10].tolist() == [178, 50, 50]  # one pixel wide each
    assert draw_frame(image, square_mask(), palette=RED, contour_thickness=2, with_labels=False)[
        [3, 4, 5, 6, 7], 10].tolist() == [[255, 255, 255]] * 2 + [[255, 0, 0]] * 2 + [[178, 50, 50]]
    # ignore (255) is left as it is; background_index=None tints class 0 as well
    seg = np.array([[0, 0, 255, 255, 255]] * 4)
    drawn = draw_frame(np.full((4, 5, 3), 100, np.uint8), seg, palette=RED, alpha=0.5, background_index=None,
                       with_labels=False)
    assert drawn[:, 0].tolist() == [[50, 50, 50]] * 4  # blended with black
    assert drawn[:, 1].tolist() == [[0, 0, 0]] * 4 and drawn[:, 2].tolist() == [[255, 255, 255]] * 4  # contour
    assert (drawn[:, 3:] == 100).all()


def test_white_object_on_white_frame_has_a_visible_contour():
    image = np.full((20, 20, 3), 255, np.uint8)
    drawn = draw_frame(image, square_mask(), palette=WHITE, alpha=0.5, with_labels=False)
    # the blend alone would leave the whole frame white; the outer contour line is a dark ring around it
    ring = np.concatenate([drawn[4, 6:14], drawn[15, 6:14], drawn[6:14, 4], drawn[6:14, 15]])
    assert (ring == 0).all()
    assert (drawn[10, 10] == 255).all() and (drawn[0, 0] == 255).all()


def test_captions_and_two_panels():
    image = np.full((40, 60, 3), 90, np.uint8)
    pred = np.zeros((40, 60), np.int64)
    pred[10:30, 10:40] = 1
    gt = np.zeros_like(pred)
    gt[5:25, 20:50] = 1
    plain = draw_frame(image, pred, gt, palette=RED, with_labels=False)
    labelled = draw_frame(image, pred, gt, palette=RED, with_labels=True)
    assert plain.shape == (40, 120, 3)  # ground truth | prediction
    strip = labelled.shape[0] - 40
    assert strip > 0 and labelled.shape[1] == 120
    # binary: the captions go on a strip above each panel, the panels themselves carry no text
    assert (labelled[strip:] == plain).all()
    gt_caption, pred_caption = labelled[:strip, :60], labelled[:strip, 60:]
    assert gt_caption.max() > 200 and pred_caption.max() > 200  # white text on the dark strip
    assert not (gt_caption == pred_caption).all()  # "ground truth" / "prediction"
    assert (plain[:, :60] == draw_frame(image, None, gt, palette=RED, with_labels=False)).all()
    assert (plain[:, 60:] == draw_frame(image, pred, palette=RED, with_labels=False)).all()


def test_semantic_regions_are_named():
    image = np.full((60, 80, 3), 128, np.uint8)
    pred = np.zeros((60, 80), np.int64)
    pred[5:55, 2:38] = 2
    pred[5:55, 42:78] = 3
    plain = draw_frame(image, pred, palette=SEMANTIC_PALETTE, classes=SEMANTIC_CLASSES, with_labels=False)
    named = draw_frame(image, pred, palette=SEMANTIC_PALETTE, classes=SEMANTIC_CLASSES, with_labels=True)
    body = named[named.shape[0] - 60:]
    # each region carries a label box in its colour at its centre; elsewhere the drawing is the same
    assert not (body[25:35, 10:30] == plain[25:35, 10:30]).all()
    assert not (body[25:35, 50:70] == plain[25:35, 50:70]).all()
    assert (body[:, 39:41] == plain[:, 39:41]).all()
    assert (body == [0, 200, 0]).all(-1)[20:40, 2:38].sum() > (plain == [0, 200, 0]).all(-1)[20:40, 2:38].sum()
    # without class names nothing is named, whatever with_labels says
    unnamed = draw_frame(image, pred, palette=SEMANTIC_PALETTE, with_labels=True)
    assert (unnamed[unnamed.shape[0] - 60:] == plain).all()


def test_max_size_downscales():
    image = np.zeros((40, 60, 3), np.uint8)
    pred = np.zeros((40, 60), np.int64)
    pred[:, :30] = 1
    drawn = draw_frame(image, pred, pred, palette=RED, max_size=30, with_labels=False)
    assert drawn.shape == (20, 60, 3)  # two panels of 20 x 30
    assert draw_frame(image, pred, palette=RED, max_size=100, with_labels=False).shape == (40, 60, 3)


def test_draw_frame_errors():
    image = np.zeros((4, 4, 3), np.uint8)
    mask = np.zeros((4, 4), np.int64)
    with pytest.raises(ValueError, match='uint8 RGB'):
        draw_frame(image.astype(np.float32), mask, palette=RED)
    with pytest.raises(ValueError, match='prediction must be an integer'):
        draw_frame(image, np.zeros((3, 4), np.int64), palette=RED)
    with pytest.raises(ValueError, match='nothing to draw'):
        draw_frame(image, palette=RED)
    with pytest.raises(ValueError, match='palette must be'):
        draw_frame(image, mask, palette=[[0, 0], [1, 1]])
    with pytest.raises(ValueError, match='3 classes but 2 palette colours'):
        draw_frame(image, mask, palette=RED, classes=('a', 'b', 'c'))
    with pytest.raises(ValueError, match='alpha'):
        draw_frame(image, mask, palette=RED, alpha=1.5)
    with pytest.raises(ValueError, match='alpha'):
        AVSLocalVisualizer(name='avs_local_vis_bad_alpha', alpha=-1)
    with pytest.raises(ValueError, match='dataset_name'):
        make_visualizer('avs_local_vis_dataset_name').set_dataset_meta(dataset_name='cityscapes')
    with pytest.raises(ValueError, match='AVSLocalVisualizer: palette must be'):
        make_visualizer('avs_local_vis_bad_meta').dataset_meta = dict(classes=('a', ), palette=[1, 2, 3])


@pytest.mark.parametrize('flip', [False, True])
def test_gt_alignment_crops_padding_and_undoes_flip(flip):
    gt = gt_at_ori_shape(make_sample(flip=flip))
    assert gt.shape == (6, 8)
    assert (gt[:, :2] == 1).all() and (gt[:, 2:] == 0).all()
    # a pipeline that redefined ori_shape: nearest resize to it
    sample = make_sample(flip=flip)
    sample.set_metainfo(dict(ori_shape=(12, 16)))
    big = gt_at_ori_shape(sample)
    assert big.shape == (12, 16) and (big[:, :4] == 1).all() and (big[:, 4:] == 0).all()


def test_add_datasample_panels_and_output(tmp_path):
    vis = make_visualizer('avs_local_vis_add', alpha=1.0, with_labels=False)
    image = np.full((6, 8, 3), 100, np.uint8)
    out_file = tmp_path / 'sub' / 'c_0.png'
    drawn = vis.add_datasample('c_0', image, make_sample(flip=True), out_file=str(out_file))
    assert drawn.shape == (6, 16, 3)  # ground truth | prediction
    assert (mmcv.imread(str(out_file), channel_order='rgb') == drawn).all()
    # alpha=1: class colour inside the regions (ground truth: left quarter, flip undone; prediction: left half)
    gt_panel, pred_panel = drawn[:, :8], drawn[:, 8:]
    assert (gt_panel[:, :2] != [100, 100, 100]).any(-1).all() and (gt_panel[:, 4:] == 100).all()
    assert (pred_panel[:, :4] != [100, 100, 100]).any(-1).all() and (pred_panel[:, 5:] == 100).all()
    assert (vis.get_image() == drawn).all()
    # unlabelled: the prediction alone; draw_gt=False likewise
    assert vis.add_datasample('u', image, make_sample(is_labeled=False)).shape == (6, 8, 3)
    assert vis.add_datasample('g', image, make_sample(), draw_gt=False).shape == (6, 8, 3)
    # a frame file larger than ori_shape is drawn at the prediction's size
    assert vis.add_datasample('b', np.zeros((12, 16, 3), np.uint8), make_sample()).shape == (6, 16, 3)


def test_add_datasample_errors():
    image = np.zeros((6, 8, 3), np.uint8)
    vis = make_visualizer('avs_local_vis_errors')
    with pytest.raises(ValueError, match='padded frame'):
        vis.add_datasample('p', image, make_sample(is_padded=True))
    sample = make_sample()
    del sample.pred_sem_seg
    with pytest.raises(ValueError, match='no pred_sem_seg'):
        vis.add_datasample('n', image, sample)
    with pytest.raises(ValueError, match='nothing to draw'):
        vis.add_datasample('n', image, make_sample(is_labeled=False), draw_pred=False)
    with pytest.raises(ValueError, match='no "palette"'):
        make_visualizer('avs_local_vis_no_palette', classes=None, palette=None).add_datasample(
            'x', image, make_sample())


def test_other_ranks_keep_meta_and_write_files(tmp_path, monkeypatch):
    vis = make_visualizer('avs_local_vis_rank1', classes=None, palette=None)
    monkeypatch.setattr(dist_utils, 'is_main_process', lambda group=None: False)  # as on rank 1
    vis.dataset_meta = dict(classes=('background', 'object'), palette=WHITE)
    assert vis.dataset_meta['palette'] == WHITE  # mmengine's dataset_meta would be None off rank 0
    out_file = tmp_path / 'r1.png'
    vis.add_datasample('r1', np.zeros((6, 8, 3), np.uint8), make_sample(), out_file=str(out_file))
    assert out_file.exists()
