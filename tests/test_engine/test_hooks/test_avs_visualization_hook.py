"""AVSVisualizationHook and AVSPredictionWriterHook on hand-made clip outputs."""
import os.path as osp
from types import SimpleNamespace

import mmcv
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmengine.visualization import Visualizer
from mmseg.structures import SegDataSample

from avsseg.engine.hooks import AVSPredictionWriterHook, AVSVisualizationHook
from avsseg.registry import HOOKS

PALETTE = [[0, 0, 0], [255, 0, 0]]


def _loop(**metainfo):
    return SimpleNamespace(dataloader=SimpleNamespace(dataset=SimpleNamespace(metainfo=metainfo)))


def make_runner(**metainfo):
    """The parts of a Runner the hooks read: the iteration and the running loops' dataset metainfo."""
    metainfo = metainfo or dict(classes=('background', 'object'), palette=PALETTE)
    return SimpleNamespace(iter=0, test_loop=_loop(**metainfo), val_loop=_loop(**metainfo))


@pytest.fixture(scope='module')
def visualizer():
    # the hook takes the current visualizer (for show / backends); its dataset_meta is not used for colours
    return Visualizer.get_instance('avs_vis_hook_test')


def make_clip(tmp_path, clip_id='clip/a', size=(6, 8), padded_last=True, flip=False):
    """One clip of 3 frames: frame 0 labelled, frame 1 unlabelled, frame 2 padded (no image)."""
    h, w = size
    samples = []
    for t in range(3):
        img = np.full((h, w, 3), 100 + t, np.uint8)
        path = None
        is_padded = padded_last and t == 2
        if not is_padded:
            path = str(tmp_path / f'{t}.png')
            mmcv.imwrite(img[..., ::-1], path)  # stored BGR like any image file
        pred = torch.zeros(1, h, w, dtype=torch.long)
        pred[0, :, : w // 2] = 1  # left half predicted as object
        # ground truth padded by 2 rows/cols at bottom/right as stack_batch does; object = left quarter
        gt = torch.full((1, h + 2, w + 2), 255, dtype=torch.long)
        gt[0, :h, :w] = 0
        gt[0, :h, : w // 4] = 1
        if flip:
            gt[0, :h, :w] = gt[0, :h, :w].flip(-1)
        sample = SegDataSample(
            metainfo=dict(clip_id=clip_id, frame_idx=t, img_path=path, is_labeled=t == 0, is_padded=is_padded,
                          ori_shape=(h, w), img_shape=(h, w), padding_size=[0, 2, 0, 2], flip=flip,
                          flip_direction='horizontal'))
        sample.pred_sem_seg = PixelData(data=pred)
        sample.gt_sem_seg = PixelData(data=gt)
        samples.append(sample)
    return samples


def test_registered():
    assert HOOKS.get('AVSVisualizationHook') is AVSVisualizationHook
    assert HOOKS.get('AVSPredictionWriterHook') is AVSPredictionWriterHook


def test_overlay_values(visualizer):
    hook = AVSVisualizationHook(draw=True, alpha=0.5)
    image = np.full((2, 2, 3), 100, np.uint8)
    seg = np.array([[0, 1], [255, 1]])
    out = hook.overlay(image, seg, np.asarray(PALETTE, np.float32))
    assert out[0, 0].tolist() == [50, 50, 50]  # blended with black
    assert out[0, 1].tolist() == [178, 50, 50]  # 100 * 0.5 + 255 * 0.5 = 177.5 -> 178; others 50
    assert out[1, 0].tolist() == [100, 100, 100]  # ignore index left untouched


@pytest.mark.parametrize('flip', [False, True])
def test_writes_one_overlay_per_real_frame(tmp_path, visualizer, flip):
    out_dir = tmp_path / 'show'
    hook = AVSVisualizationHook(draw=True, interval=1, out_dir=str(out_dir), alpha=1.0)
    hook.after_test_iter(make_runner(), 0, data_batch=None, outputs=make_clip(tmp_path, flip=flip))
    labelled = mmcv.imread(str(out_dir / 'clip' / 'a_0.png'), channel_order='rgb')
    unlabelled = mmcv.imread(str(out_dir / 'clip' / 'a_1.png'), channel_order='rgb')
    assert not (out_dir / 'clip' / 'a_2.png').exists()  # padded frame: no image
    assert labelled.shape == (6, 16, 3)  # ground truth | prediction
    assert unlabelled.shape == (6, 8, 3)  # prediction only
    gt_half, pred_half = labelled[:, :8], labelled[:, 8:]
    # alpha=1: pure palette colours. GT: left quarter object (flip undone); prediction: left half object.
    assert (gt_half[:, :2] == [255, 0, 0]).all() and (gt_half[:, 2:] == [0, 0, 0]).all()
    assert (pred_half[:, :4] == [255, 0, 0]).all() and (pred_half[:, 4:] == [0, 0, 0]).all()


def test_frame_is_resized_to_prediction(tmp_path, visualizer):
    samples = make_clip(tmp_path, padded_last=False)
    big = np.zeros((12, 16, 3), np.uint8)
    mmcv.imwrite(big, samples[1].img_path)  # the file is larger than ori_shape (update_ori_shape pipelines)
    hook = AVSVisualizationHook(draw=True, interval=1, out_dir=str(tmp_path / 'o'))
    drawn = hook.draw_sample(samples[1], np.asarray(PALETTE, np.float32))
    assert drawn.shape == (6, 8, 3)


def test_interval_and_draw_flag(tmp_path, visualizer):
    out_dir = tmp_path / 'show'
    runner = make_runner()
    AVSVisualizationHook(draw=False, interval=1, out_dir=str(out_dir)).after_test_iter(
        runner, 0, outputs=make_clip(tmp_path))
    assert not out_dir.exists()
    hook = AVSVisualizationHook(draw=True, interval=2, out_dir=str(out_dir))
    hook.after_val_iter(runner, 0, outputs=make_clip(tmp_path))  # batch 1 of every 2: skipped
    assert not out_dir.exists()
    hook.after_val_iter(runner, 1, outputs=make_clip(tmp_path))
    assert (out_dir / 'clip' / 'a_0.png').exists()


def test_errors(tmp_path, visualizer):
    with pytest.raises(ValueError, match='interval'):
        AVSVisualizationHook(interval=0)
    hook = AVSVisualizationHook(draw=True, interval=1, out_dir=str(tmp_path / 'o'))
    sample = make_clip(tmp_path)[0]
    sample.set_metainfo(dict(img_path=None))
    with pytest.raises(ValueError, match='no img_path'):
        hook.after_test_iter(make_runner(), 0, outputs=[sample])
    with pytest.raises(ValueError, match='palette'):
        hook.after_test_iter(make_runner(classes=('background', 'object')), 0, outputs=make_clip(tmp_path))


def test_prediction_writer(tmp_path):
    out_dir = tmp_path / 'pred'
    hook = AVSPredictionWriterHook(out_dir=str(out_dir))
    runner = SimpleNamespace(test_loop=_loop(classes=('background', 'object')))
    hook.after_test_iter(runner, 0, outputs=make_clip(tmp_path))
    mask = mmcv.imread(str(out_dir / 'clip' / 'a_0.png'), flag='unchanged')
    assert mask.dtype == np.uint8 and mask.shape == (6, 8)
    assert (mask[:, :4] == 255).all() and (mask[:, 4:] == 0).all()  # binary: 0/255 like AVSBench masks
    assert (out_dir / 'clip' / 'a_1.png').exists() and not (out_dir / 'clip' / 'a_2.png').exists()
    # semantic predictions keep class indices
    sem_dir = tmp_path / 'sem'
    samples = make_clip(tmp_path, clip_id='v')
    samples[0].pred_sem_seg = PixelData(data=torch.full((1, 6, 8), 7, dtype=torch.long))
    AVSPredictionWriterHook(out_dir=str(sem_dir)).after_test_iter(
        SimpleNamespace(test_loop=_loop(classes=tuple(f'c{i}' for i in range(71)))), 0, outputs=samples)
    assert (mmcv.imread(str(sem_dir / 'v_0.png'), flag='unchanged') == 7).all()
    # validation is only written when asked
    val_dir = tmp_path / 'val'
    AVSPredictionWriterHook(out_dir=str(val_dir)).after_val_iter(
        SimpleNamespace(val_loop=_loop(classes=('b', 'o'))), 0, outputs=make_clip(tmp_path))
    assert not val_dir.exists()
    samples[0].pred_sem_seg = PixelData(data=torch.full((1, 6, 8), 300, dtype=torch.long))
    with pytest.raises(ValueError, match='uint8'):
        AVSPredictionWriterHook(out_dir=str(sem_dir)).write(samples[0], 400)
    assert osp.isdir(sem_dir)
