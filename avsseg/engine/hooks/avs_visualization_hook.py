"""Per-frame overlays of validation / test predictions for audio-visual clips."""
import os.path as osp
from typing import Optional, Sequence

import mmcv
import mmengine.fileio as fileio
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.visualization import Visualizer
from mmseg.structures import SegDataSample

from avsseg.registry import HOOKS


@HOOKS.register_module()
class AVSVisualizationHook(Hook):
    """Draws the prediction (and the ground truth) of every real frame of a clip over the frame.

    mmseg's ``SegVisualizationHook`` cannot be used as is for clips: it names each image after the basename of
    ``img_path`` (AVSS frames are ``0.jpg ... 9.jpg`` in every clip, so overlays overwrite each other), it reads
    ``img_path`` of every sample (padded frames have none) and it only draws on rank 0. This hook

    - names every image ``{clip_id}_{frame_idx}`` (a ``/`` in a clip id becomes a sub-folder);
    - skips padded frames (``is_padded``): they have no image;
    - draws ``ground truth | prediction`` side by side on labelled frames (``is_labeled``) and the prediction
      alone elsewhere; pixels of class ``c < len(palette)`` are blended with ``palette[c]`` (``alpha``), other
      values (e.g. 255 = ignore) are left as they are. Colours come from the ``palette`` of the running loop's
      dataset metainfo (not the visualizer's ``dataset_meta``, which mmengine only sets on rank 0);
    - with ``out_dir`` writes ``{out_dir}/{clip_id}_{frame_idx}.png`` on every rank (each rank holds other
      clips); without it hands the image to the visualizer's backends (rank 0, mmseg's behaviour).

    Drawing happens at the prediction's size (``ori_shape``; the frame read from ``img_path`` is resized to it
    when a pipeline redefined ``ori_shape``). The ground truth is brought to that size as mmseg's
    ``postprocess_result`` brings the logits: crop the batch padding (``padding_size``), undo a flip,
    nearest-resize to ``ori_shape``.

    Args:
        draw (bool): draw at all. Defaults to False (``tools/test.py --show-dir/--show`` turns it on).
        interval (int): draw every ``interval``-th val/test batch. Defaults to 50.
        show (bool): show each image in a window. Defaults to False.
        wait_time (float): seconds each shown image stays. Defaults to 0.
        out_dir (str, optional): folder for the PNG files. Defaults to None (visualizer backends).
        draw_gt (bool): draw the ground truth of labelled frames next to the prediction. Defaults to True.
        alpha (float): weight of the class colour in the blend. Defaults to 0.5.
        backend_args (dict, optional): mmengine file backend arguments to read frames.
    """
    priority = 'NORMAL'

    def __init__(self,
                 draw: bool = False,
                 interval: int = 50,
                 show: bool = False,
                 wait_time: float = 0.,
                 out_dir: Optional[str] = None,
                 draw_gt: bool = True,
                 alpha: float = 0.5,
                 backend_args: Optional[dict] = None):
        if interval < 1:
            raise ValueError(f'AVSVisualizationHook: interval must be >= 1, got {interval}')
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'AVSVisualizationHook: alpha must be in [0, 1], got {alpha}')
        self.draw = draw
        self.interval = interval
        self.show = show
        self.wait_time = wait_time
        self.out_dir = out_dir
        self.draw_gt = draw_gt
        self.alpha = alpha
        self.backend_args = dict(backend_args) if backend_args else None
        self._visualizer: Visualizer = Visualizer.get_current_instance()

    # ------------------------------------------------------------------ drawing
    @staticmethod
    def _palette(runner, mode: str) -> np.ndarray:
        # read from the dataset of the running loop: the visualizer's dataset_meta is only set on rank 0
        loop = runner.val_loop if mode == 'val' else runner.test_loop
        meta = getattr(loop.dataloader.dataset, 'metainfo', None) or {}
        palette = meta.get('palette')
        if palette is None or len(palette) == 0:
            raise ValueError('AVSVisualizationHook: the dataset metainfo has no "palette"; give the dataset '
                             'metainfo=dict(classes=..., palette=[[r, g, b], ...])')
        palette = np.asarray(palette, dtype=np.float32)
        if palette.ndim != 2 or palette.shape[1] != 3:
            raise ValueError(f'AVSVisualizationHook: palette must be a list of [r, g, b], got shape '
                             f'{palette.shape}')
        return palette

    def overlay(self, image: np.ndarray, seg: np.ndarray, palette: np.ndarray) -> np.ndarray:
        """Blend class colours into an RGB frame.

        Args:
            image: uint8 ``[H, W, 3]`` RGB.
            seg: int ``[H, W]`` class indices (values ``>= len(palette)`` are not drawn).
            palette: float ``[C, 3]``.

        Returns:
            uint8 ``[H, W, 3]``.
        """
        if seg.shape != image.shape[:2]:
            raise ValueError(f'AVSVisualizationHook: mask {seg.shape} and frame {image.shape[:2]} differ')
        out = image.astype(np.float32)
        valid = (seg >= 0) & (seg < len(palette))
        out[valid] = out[valid] * (1 - self.alpha) + palette[seg[valid]] * self.alpha
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    @staticmethod
    def _gt_at_original_size(sample: SegDataSample) -> np.ndarray:
        gt = sample.gt_sem_seg.data
        gt = gt.cpu() if isinstance(gt, torch.Tensor) else torch.as_tensor(gt)
        gt = gt[0]
        meta = sample.metainfo
        left, right, top, bottom = meta.get('padding_size', (0, 0, 0, 0))
        height, width = gt.shape
        gt = gt[top:height - bottom, left:width - right]
        if meta.get('flip'):
            gt = gt.flip(dims=(1, ) if meta.get('flip_direction', 'horizontal') == 'horizontal' else (0, ))
        gt = gt.numpy()
        ori_h, ori_w = meta['ori_shape'][:2]
        if gt.shape != (ori_h, ori_w):
            gt = mmcv.imresize(gt.astype(np.uint8 if gt.max() < 256 else np.int32), (ori_w, ori_h),
                               interpolation='nearest')
        return gt.astype(np.int64)

    def draw_sample(self, sample: SegDataSample, palette: np.ndarray) -> np.ndarray:
        """The drawn RGB image ``[H, W(*2), 3]`` of one real frame."""
        meta = sample.metainfo
        img_path = meta.get('img_path')
        if img_path is None:
            raise ValueError(f'AVSVisualizationHook: frame {meta.get("frame_idx")} of clip '
                             f'{meta.get("clip_id")} is not padded but has no img_path')
        image = mmcv.imfrombytes(fileio.get(img_path, backend_args=self.backend_args), channel_order='rgb')
        if 'pred_sem_seg' not in sample:
            raise ValueError(f'AVSVisualizationHook: the output for {img_path} has no pred_sem_seg')
        pred = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.int64)
        if pred.shape != image.shape[:2]:
            # the pipeline may define the scoring size (ClipResize(update_ori_shape=True)): draw at that size
            image = mmcv.imresize(image, (pred.shape[1], pred.shape[0]), interpolation='bilinear')
        drawn = self.overlay(image, pred, palette)
        if self.draw_gt and meta.get('is_labeled', False) and 'gt_sem_seg' in sample:
            gt = self._gt_at_original_size(sample)
            drawn = np.concatenate([self.overlay(image, gt, palette), drawn], axis=1)
        return drawn

    @staticmethod
    def frame_name(sample: SegDataSample) -> str:
        meta = sample.metainfo
        for key in ('clip_id', 'frame_idx'):
            if key not in meta:
                raise KeyError(f'AVSVisualizationHook: data sample metainfo lacks {key!r} (PackAVSInputs sets it)')
        return f'{meta["clip_id"]}_{meta["frame_idx"]}'

    # ------------------------------------------------------------------ hook
    def _after_iter(self,
                    runner,
                    batch_idx: int,
                    data_batch: dict = None,
                    outputs: Optional[Sequence[SegDataSample]] = None,
                    mode: str = 'val') -> None:
        if not self.draw or mode == 'train' or not self.every_n_inner_iters(batch_idx, self.interval):
            return
        palette = self._palette(runner, mode)
        for sample in outputs:
            if sample.metainfo.get('is_padded', False):
                continue  # a padded frame has no image to draw on
            name = self.frame_name(sample)
            drawn = self.draw_sample(sample, palette)
            if self.show:
                self._visualizer.show(drawn, win_name=f'{mode}_{name}', wait_time=self.wait_time)
            if self.out_dir is not None:
                mmcv.imwrite(mmcv.rgb2bgr(drawn), osp.join(self.out_dir, f'{name}.png'))
            elif not self.show:
                self._visualizer.add_image(f'{mode}_{name}', drawn, step=runner.iter)
