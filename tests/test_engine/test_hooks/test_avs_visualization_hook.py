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
from avsseg.visualization import AVSLocalVisualizer

PALETTE = [[0, 0, 0], [255, 0, 0]]


def _loop(**metainfo):
    return SimpleNamespace(dataloader=SimpleNamespace(dataset=SimpleNamespace(metainfo=metainfo)))


def make_runner(**metainfo):
    """The parts of a Runner the hooks read: the iteration and the running loops' dataset metainfo."""
    metainfo = metainfo or dict(classes=('background', 'object'), palette=PALETTE)
    return SimpleNamespace(iter=0, test_loop=_loop(**metainfo), val_loop=_loop(**metainfo))


@pytest.fixture
def visualizer(request):
    """The runner's visualizer (default_runtime.py): an AVSLocalVisualizer the hook delegates to.

    A new instance per test, so that it is the current one (the latest created) whatever an earlier test built.
    """
    return AVSLocalVisualizer.get_instance(f'avs_vis_hook_{request.node.name}', alpha=1.0, with_labels=False)


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


def test_delegates_to_the_runner_visualizer(visualizer):
    hook = AVSVisualizationHook(draw=True)
    assert hook._visualizer is visualizer and hook._backend_visualizer is None
    AVSVisualizationHook(draw=True, alpha=0.7)
    assert visualizer.alpha == 0.7  # the hook's alpha, when given, replaces the visualizer's


def run_test_epoch(hook, runner, outputs, batch_idx=0):
    hook.before_test_epoch(runner)
    hook.after_test_iter(runner, batch_idx, data_batch=None, outputs=outputs)


@pytest.mark.parametrize('flip', [False, True])
def test_writes_one_overlay_per_real_frame(tmp_path, visualizer, flip):
    out_dir = tmp_path / 'show'
    hook = AVSVisualizationHook(draw=True, interval=1, out_dir=str(out_dir))
    run_test_epoch(hook, make_runner(), make_clip(tmp_path, flip=flip))
    labelled = mmcv.imread(str(out_dir / 'clip' / 'a_0.png'), channel_order='rgb')
    unlabelled = mmcv.imread(str(out_dir / 'clip' / 'a_1.png'), channel_order='rgb')
    assert not (out_dir / 'clip' / 'a_2.png').exists()  # padded frame: no image
    assert labelled.shape == (6, 16, 3)  # ground truth | prediction
    assert unlabelled.shape == (6, 8, 3)  # prediction only
    gt_half, pred_half = labelled[:, :8], labelled[:, 8:]
    # alpha=1: class colour over the object, the frame (100) beyond the outer contour line.
    # GT: left quarter object (padding cropped, flip undone); prediction: left half object.
    assert (gt_half[:, :2] == [255, 0, 0]).all() and (gt_half[:, 4:] == 100).all()
    assert (pred_half[:, 1:3] != 100).any(-1).all() and (pred_half[:, 5:] == 100).all()


def test_frame_is_resized_to_prediction(tmp_path, visualizer):
    samples = make_clip(tmp_path, padded_last=False)
    big = np.zeros((12, 16, 3), np.uint8)
    mmcv.imwrite(big, samples[1].img_path)  # the file is larger than ori_shape (update_ori_shape pipelines)
    out_dir = tmp_path / 'o'
    run_test_epoch(AVSVisualizationHook(draw=True, interval=1, out_dir=str(out_dir)), make_runner(), samples)
    assert mmcv.imread(str(out_dir / 'clip' / 'a_1.png')).shape == (6, 8, 3)


def test_palette_of_the_running_loop(tmp_path, visualizer):
    out_dir = tmp_path / 'show'
    hook = AVSVisualizationHook(draw=True, interval=1, out_dir=str(out_dir))
    runner = make_runner()
    runner.val_loop = _loop(classes=('background', 'object'), palette=[[0, 0, 0], [0, 0, 255]])
    hook.before_val_epoch(runner)
    assert visualizer.dataset_meta['palette'] == [[0, 0, 0], [0, 0, 255]]
    hook.after_val_iter(runner, 0, outputs=make_clip(tmp_path))
    assert (mmcv.imread(str(out_dir / 'clip' / 'a_1.png'), channel_order='rgb')[1:5, 1:3] == [0, 0, 255]).all()
    hook.before_test_epoch(runner)
    assert visualizer.dataset_meta['palette'] == PALETTE


def test_other_visualizer_gets_a_private_drawer(tmp_path, visualizer):
    plain = Visualizer.get_instance('avs_vis_hook_plain')  # e.g. a config still naming mmseg's visualizer
    hook = AVSVisualizationHook(draw=True, interval=1)
    assert isinstance(hook._visualizer, AVSLocalVisualizer) and hook._backend_visualizer is plain
    added = []
    plain.add_image = lambda name, image, step=0: added.append((name, image.shape, step))
    run_test_epoch(hook, make_runner(), make_clip(tmp_path))
    # no out_dir: the drawings go to the configured visualizer's backends
    assert [name for name, _, _ in added] == ['test_clip/a_0', 'test_clip/a_1']
    assert added[0][1][1] > added[1][1][1]  # ground truth | prediction, then the prediction alone


def test_interval_and_draw_flag(tmp_path, visualizer):
    out_dir = tmp_path / 'show'
    runner = make_runner()
    run_test_epoch(AVSVisualizationHook(draw=False, interval=1, out_dir=str(out_dir)), runner, make_clip(tmp_path))
    assert not out_dir.exists()
    hook = AVSVisualizationHook(draw=True, interval=2, out_dir=str(out_dir))
    hook.before_val_epoch(runner)
    hook.after_val_iter(runner, 0, outputs=make_clip(tmp_path))  # batch 1 of every 2: skipped
    assert not out_dir.exists()
    hook.after_val_iter(runner, 1, outputs=make_clip(tmp_path))
    assert (out_dir / 'clip' / 'a_0.png').exists()


def test_errors(tmp_path, visualizer):
    with pytest.raises(ValueError, match='interval'):
        AVSVisualizationHook(interval=0)
    with pytest.raises(ValueError, match='alpha'):
        AVSVisualizationHook(alpha=2)
    hook = AVSVisualizationHook(draw=True, interval=1, out_dir=str(tmp_path / 'o'))
    sample = make_clip(tmp_path)[0]
    sample.set_metainfo(dict(img_path=None))
    with pytest.raises(ValueError, match='no img_path'):
        run_test_epoch(hook, make_runner(), [sample])
    with pytest.raises(ValueError, match='test dataset metainfo has no "palette"'):
        hook.before_test_epoch(make_runner(classes=('background', 'object')))
    sample = make_clip(tmp_path)[0]
    del sample.clip_id
    with pytest.raises(KeyError, match='clip_id'):
        hook.after_test_iter(make_runner(), 0, outputs=[sample])


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
