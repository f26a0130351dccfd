"""Per-frame overlays of validation / test predictions for audio-visual clips."""
import os.path as osp
from typing import Optional, Sequence

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmengine.hooks import Hook
from mmengine.visualization import Visualizer
from mmseg.structures import SegDataSample

from avsseg.registry import HOOKS
from avsseg.visualization import AVSLocalVisualizer


@HOOKS.register_module()
class AVSVisualizationHook(Hook):
    """Chooses which frames of val/test clips to draw, reads them and hands them to an ``AVSLocalVisualizer``.

    mmseg's ``SegVisualizationHook`` cannot be used as is for clips: it names each image after the basename of
    ``img_path`` (AVSS frames are ``0.jpg ... 9.jpg`` in every clip, so overlays overwrite each other), it reads
    ``img_path`` of every sample (padded frames have none) and it only draws on rank 0. This hook

    - draws every real frame of every ``interval``-th val/test batch and skips padded frames (``is_padded``);
    - names every image ``{clip_id}_{frame_idx}`` (a ``/`` in a clip id becomes a sub-folder);
    - gives the visualizer the ``classes`` / ``palette`` of the running loop's dataset at the start of each
      val/test epoch (so a test set with other classes than the validation set is drawn in its own colours);
    - with ``out_dir`` writes ``{out_dir}/{clip_id}_{frame_idx}.png`` on every rank (each rank holds other
      clips); without it the image goes to the visualizer's backends (rank 0, mmseg's behaviour); ``show``
      also shows it.

    The drawing itself (``ground truth | prediction`` on labelled frames, the prediction alone elsewhere, at
    the prediction's size) is the visualizer's: the runner's visualizer when it is an ``AVSLocalVisualizer``
    (``configs/_base_/default_runtime.py``), otherwise a private ``AVSLocalVisualizer`` whose images go to the
    runner's visualizer's backends.

    Args:
        draw (bool): draw at all. Defaults to False (``tools/test.py --show-dir/--show`` turns it on).
        interval (int): draw every ``interval``-th val/test batch. Defaults to 50.
        show (bool): show each image in a window. Defaults to False.
        wait_time (float): seconds each shown image stays. Defaults to 0.
        out_dir (str, optional): folder for the PNG files. Defaults to None (visualizer backends).
        draw_gt (bool): draw the ground truth of labelled frames next to the prediction. Defaults to True.
        alpha (float, optional): weight of the class colours; when given it replaces the visualizer's
            ``alpha``. Defaults to None (the visualizer's).
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
                 alpha: Optional[float] = None,
                 backend_args: Optional[dict] = None):
        if interval < 1:
            raise ValueError(f'AVSVisualizationHook: interval must be >= 1, got {interval}')
        if alpha is not None and not 0.0 <= alpha <= 1.0:
            raise ValueError(f'AVSVisualizationHook: alpha must be in [0, 1], got {alpha}')
        self.draw = draw
        self.interval = interval
        self.show = show
        self.wait_time = wait_time
        self.out_dir = out_dir
        self.draw_gt = draw_gt
        self.backend_args = dict(backend_args) if backend_args else None
        runner_visualizer = Visualizer.get_current_instance()
        if isinstance(runner_visualizer, AVSLocalVisualizer):
            self._visualizer = runner_visualizer
            self._backend_visualizer = None
        else:
            # not registered as an instance, so the runner's visualizer stays the current one
            self._visualizer = AVSLocalVisualizer(name=f'{runner_visualizer.instance_name}_avs_frames')
            self._backend_visualizer = runner_visualizer
        if alpha is not None:
            self._visualizer.alpha = alpha

    @staticmethod
    def frame_name(sample: SegDataSample) -> str:
        """``{clip_id}_{frame_idx}`` of a frame's data sample."""
        meta = sample.metainfo
        for key in ('clip_id', 'frame_idx'):
            if key not in meta:
                raise KeyError(f'AVSVisualizationHook: data sample metainfo lacks {key!r} (PackAVSInputs sets it)')
        return f'{meta["clip_id"]}_{meta["frame_idx"]}'

    def read_frame(self, sample: SegDataSample) -> np.ndarray:
        """The uint8 RGB frame ``[H, W, 3]`` of a real frame's data sample, read from ``img_path``."""
        meta = sample.metainfo
        img_path = meta.get('img_path')
        if img_path is None:
            raise ValueError(f'AVSVisualizationHook: frame {meta.get("frame_idx")} of clip '
                             f'{meta.get("clip_id")} is not padded but has no img_path')
        return mmcv.imfrombytes(fileio.get(img_path, backend_args=self.backend_args), channel_order='rgb')

    def _before_epoch(self, runner, mode: str = 'train') -> None:
        if not self.draw or mode == 'train':
            return
        loop = runner.val_loop if mode == 'val' else runner.test_loop
        meta = getattr(loop.dataloader.dataset, 'metainfo', None) or {}
        if meta.get('palette') is None:
            raise ValueError(f'AVSVisualizationHook: the {mode} dataset metainfo has no "palette"; give the dataset '
                             f'metainfo=dict(classes=..., palette=[[r, g, b], ...])')
        self._visualizer.set_dataset_meta(classes=meta.get('classes'), palette=meta['palette'])

    def _after_iter(self,
                    runner,
                    batch_idx: int,
                    data_batch: dict = None,
                    outputs: Optional[Sequence[SegDataSample]] = None,
                    mode: str = 'val') -> None:
        if not self.draw or mode == 'train' or not self.every_n_inner_iters(batch_idx, self.interval):
            return
        for sample in outputs:
            if sample.metainfo.get('is_padded', False):
                continue  # a padded frame has no image to draw on
            name = self.frame_name(sample)
            out_file = None if self.out_dir is None else osp.join(self.out_dir, f'{name}.png')
            drawn = self._visualizer.add_datasample(
                f'{mode}_{name}', self.read_frame(sample), sample, draw_gt=self.draw_gt, show=self.show,
                wait_time=self.wait_time, out_file=out_file, step=runner.iter)
            if self._backend_visualizer is not None and out_file is None:
                self._backend_visualizer.add_image(f'{mode}_{name}', drawn, step=runner.iter)
