"""Visualizer drawing one frame of an audio-visual clip: ground truth | prediction over the frame."""
from typing import Optional, Sequence

import mmcv
import numpy as np
import torch
from mmseg.structures import SegDataSample
from mmseg.visualization import SegLocalVisualizer

from avsseg.registry import VISUALIZERS
from .overlay import check_draw_options, check_palette, draw_frame, resize_labels


def gt_at_ori_shape(data_sample: SegDataSample) -> np.ndarray:
    """The ground truth of a predicted frame, aligned with its prediction.

    ``gt_sem_seg`` of a model output is still at the (batch-padded, possibly flipped) input size; this brings it
    to ``ori_shape`` the way mmseg's ``BaseSegmentor.postprocess_result`` brings the logits: crop the batch
    padding (``padding_size`` = left, right, top, bottom), undo a flip (``flip``, ``flip_direction``),
    nearest-resize to ``ori_shape``.

    Args:
        data_sample: a frame's ``SegDataSample`` with ``gt_sem_seg`` ``[1, H_pad, W_pad]`` and ``ori_shape``.

    Returns:
        int64 ``[H, W]`` with ``(H, W) = ori_shape``.
    """
    meta = data_sample.metainfo
    if 'gt_sem_seg' not in data_sample:
        raise ValueError(f'gt_at_ori_shape: frame {meta.get("frame_idx")} of clip {meta.get("clip_id")} has no '
                         f'gt_sem_seg')
    if 'ori_shape' not in meta:
        raise KeyError(f'gt_at_ori_shape: the metainfo of frame {meta.get("frame_idx")} of clip '
                       f'{meta.get("clip_id")} lacks "ori_shape"')
    gt = data_sample.gt_sem_seg.data
    gt = gt.cpu() if isinstance(gt, torch.Tensor) else torch.as_tensor(gt)
    gt = gt[0]
    left, right, top, bottom = meta.get('padding_size', (0, 0, 0, 0))
    height, width = gt.shape
    gt = gt[top:height - bottom, left:width - right]
    if meta.get('flip'):
        gt = gt.flip(dims=(1, ) if meta.get('flip_direction', 'horizontal') == 'horizontal' else (0, ))
    return resize_labels(gt.numpy(), tuple(meta['ori_shape'][:2]))


@VISUALIZERS.register_module()
class AVSLocalVisualizer(SegLocalVisualizer):
    """mmseg's ``SegLocalVisualizer`` for frames of audio-visual clips, with readable overlays.

    ``add_datasample`` draws one real frame (see :func:`avsseg.visualization.draw_frame` for the drawing):
    ``ground truth | prediction`` side by side on labelled frames (``is_labeled``), the prediction alone
    otherwise; padded frames (``is_padded``) have no image and are refused. Binary (0/1) and semantic
    predictions are drawn alike, with the colours (and names) of ``dataset_meta``. The ground truth is aligned with
    the prediction by :func:`gt_at_ori_shape`, and the frame is resized to the prediction's size when a pipeline
    redefined ``ori_shape``.

    Differences from ``SegLocalVisualizer``:

    - ``dataset_meta`` (``classes``, ``palette``) is kept on every rank: mmengine keeps it on rank 0 only, but
      clip overlays are written by every rank (each holds other clips). It has no Cityscapes default: without
      a palette, drawing raises.
    - ``add_datasample`` writes ``out_file`` on every rank (showing and vis backends stay on rank 0) and returns
      the drawn image.

    Args:
        name (str): instance name. Defaults to 'visualizer'.
        image (np.ndarray, optional): RGB image to start from (mmengine). Defaults to None.
        vis_backends (list, optional): vis backend configs. Defaults to None.
        save_dir (str, optional): folder of the vis backends. Defaults to None.
        classes (Sequence[str], optional): class names, one per palette colour. Defaults to None (set later from
            the dataset: the runner's loops and ``AVSVisualizationHook`` do).
        palette (Sequence, optional): ``[[r, g, b], ...]``. Defaults to None.
        alpha (float): weight of the class colours. Defaults to 0.5.
        background_index (int, optional): class left undrawn; None draws every class. Defaults to 0.
        contour_thickness (int, optional): width of the contour lines; None scales with the frame size.
        with_labels (bool): caption the panels and name semantic classes. Defaults to True.
        max_size (int, optional): downscale so each panel's longer side is at most this. Defaults to None.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[list] = None,
                 save_dir: Optional[str] = None,
                 classes: Optional[Sequence[str]] = None,
                 palette: Optional[Sequence[Sequence[int]]] = None,
                 alpha: float = 0.5,
                 background_index: Optional[int] = 0,
                 contour_thickness: Optional[int] = None,
                 with_labels: bool = True,
                 max_size: Optional[int] = None,
                 **kwargs):
        check_draw_options(alpha, contour_thickness, max_size, where='AVSLocalVisualizer')
        # SegLocalVisualizer.__init__ passes (palette, classes) to set_dataset_meta in swapped order: give it
        # nothing and set the meta here.
        super().__init__(name=name, image=image, vis_backends=vis_backends, save_dir=save_dir, alpha=alpha, **kwargs)
        self.background_index = background_index
        self.contour_thickness = contour_thickness
        self.with_labels = with_labels
        self.max_size = max_size
        self.set_dataset_meta(classes, palette)

    @property
    def dataset_meta(self) -> Optional[dict]:
        """Optional[dict]: the dataset metainfo (``classes``, ``palette``), on every rank."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Optional[dict]) -> None:
        if dataset_meta is not None and dataset_meta.get('palette') is not None:
            check_palette(dataset_meta['palette'], dataset_meta.get('classes'), where='AVSLocalVisualizer')
        self._dataset_meta = None if dataset_meta is None else dict(dataset_meta)

    def set_dataset_meta(self,
                         classes: Optional[Sequence[str]] = None,
                         palette: Optional[Sequence[Sequence[int]]] = None,
                         dataset_name: Optional[str] = None) -> None:
        """Set the class names and colours (both None clears them).

        Args:
            classes: class names, one per palette colour (optional).
            palette: ``[[r, g, b], ...]``; required when ``classes`` is given.
            dataset_name: not supported (mmseg's class tables hold no AVS dataset); must be None.
        """
        if dataset_name is not None:
            raise ValueError(f'AVSLocalVisualizer: dataset_name={dataset_name!r} is not supported; give classes '
                             f'and palette (the runner sets them from the dataset metainfo)')
        if classes is not None and palette is None:
            raise ValueError('AVSLocalVisualizer: classes given without a palette')
        self.dataset_meta = None if palette is None else dict(classes=classes, palette=palette)

    def draw_frame(self,
                   image: np.ndarray,
                   pred: Optional[np.ndarray] = None,
                   gt: Optional[np.ndarray] = None,
                   with_labels: Optional[bool] = None) -> np.ndarray:
        """:func:`avsseg.visualization.draw_frame` with this visualizer's palette and options.

        Args:
            image: uint8 RGB ``[H, W, 3]``.
            pred: int ``[H, W]`` prediction, or None.
            gt: int ``[H, W]`` aligned ground truth, or None.
            with_labels: overrides the visualizer's ``with_labels`` when not None.

        Returns:
            uint8 RGB image (see :func:`avsseg.visualization.draw_frame`).
        """
        meta = self._dataset_meta or {}
        if meta.get('palette') is None:
            raise ValueError('AVSLocalVisualizer: dataset_meta has no "palette"; give the dataset '
                             'metainfo=dict(classes=..., palette=[[r, g, b], ...]) or set_dataset_meta(...)')
        return draw_frame(image, pred, gt, palette=meta['palette'], classes=meta.get('classes'), alpha=self.alpha,
                          background_index=self.background_index, contour_thickness=self.contour_thickness,
                          with_labels=self.with_labels if with_labels is None else with_labels,
                          max_size=self.max_size)

    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[SegDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       with_labels: Optional[bool] = None) -> np.ndarray:
        """Draw one frame's prediction (and ground truth), then show it, write it or hand it to the backends.

        Args:
            name: image identifier (window title, backend name).
            image: uint8 RGB ``[H, W, 3]`` frame.
            data_sample: the frame's ``SegDataSample``: ``pred_sem_seg`` ``[1, H, W]`` at ``ori_shape``,
                optionally ``gt_sem_seg`` (as the model outputs it, see :func:`gt_at_ori_shape`) and metainfo
                ``is_labeled`` / ``is_padded`` (absent: labelled, real).
            draw_gt: draw the ground truth of a labelled frame. Defaults to True.
            draw_pred: draw the prediction. Defaults to True.
            show: show the image in a window (rank 0). Defaults to False.
            wait_time: seconds a shown image stays. Defaults to 0.
            out_file: write the image here (PNG/JPEG by extension) instead of handing it to the vis backends.
            step: global step recorded by the backends. Defaults to 0.
            with_labels: overrides the visualizer's ``with_labels`` when not None.

        Returns:
            The drawn uint8 RGB image.
        """
        if data_sample is None:
            raise ValueError(f'AVSLocalVisualizer: no data_sample given for {name}')
        meta = data_sample.metainfo
        where = f'frame {meta.get("frame_idx")} of clip {meta.get("clip_id")} ({name})'
        if meta.get('is_padded', False):
            raise ValueError(f'AVSLocalVisualizer: {where} is a padded frame; it has no image to draw on')
        pred = None
        if draw_pred:
            if 'pred_sem_seg' not in data_sample:
                raise ValueError(f'AVSLocalVisualizer: {where} has no pred_sem_seg (draw_pred=False draws the '
                                 f'ground truth alone)')
            pred = data_sample.pred_sem_seg.data[0].cpu().numpy().astype(np.int64)
        gt = None
        if draw_gt and meta.get('is_labeled', True) and 'gt_sem_seg' in data_sample:
            gt = gt_at_ori_shape(data_sample)
        if pred is None and gt is None:
            raise ValueError(f'AVSLocalVisualizer: nothing to draw for {where} (no prediction asked and no '
                             f'labelled ground truth)')
        shape = (pred if pred is not None else gt).shape
        if image.shape[:2] != shape:
            # the pipeline may define the scoring size (ClipResize(update_ori_shape=True)): draw at that size
            image = mmcv.imresize(image, (shape[1], shape[0]), interpolation='bilinear')
        drawn = self.draw_frame(image, pred, gt, with_labels=with_labels)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)
        # keeps get_image() returning the drawing, as after SegLocalVisualizer.add_datasample (rank 0)
        self.set_image(drawn)
        return drawn
