"""Dynamic-convolution mask head of AuTR (Eqs. 1-2): per-query 1x1 conv kernels predicted from the query."""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.layers.transformer.utils import MLP
from mmengine.model import BaseModule
from torch import Tensor

from avsseg.registry import MODELS


@MODELS.register_module()
class DynamicMaskHead(BaseModule):
    """Masks of every query by a small fully convolutional network whose weights the query predicts.

    AuTR [paper §3.3.4, Eqs. 1-2]: a two-layer MLP ``g`` turns each output query embedding into conv kernels,
    ``{k_i} = g(F_Q)``, and the mask features are convolved with them, ``S_hat = F_m * G_kernel``. The paper leaves
    the dynamic network's shape open; it is ReferFormer's / CondInst's [recommendation of the spec sheet §2.7]:
    ``num_layers`` 1x1 convs ``(C_m + 2) -> channels -> ... -> channels -> 1`` with ReLU between, the two extra
    input channels being the relative coordinates of each pixel to the query's reference point (``rel_coord``).

    - Controller: mmdet's ``MLP(in_channels, in_channels, num_gen_params, 2)`` (paper: two layers; ReferFormer uses
      three), zero biases and xavier-uniform weights (ReferFormer).
    - Parameter layout per query (ReferFormer's ``parse_dynamic_params``): all weights first, layer by layer, then
      all biases; layer ``l``'s weight is ``[out_l, in_l]`` row-major. ``num_gen_params`` is
      ``(C_m + 2) * 8 + 8 * 8 + 8 * 1 + (8 + 8 + 1) = 2153`` for ``C_m = 256``, 8 channels, 3 layers.
    - Relative coordinates (ReferFormer ``compute_locations`` / ``dynamic_mask_with_coords``): pixel ``(x, y)`` of
      the stride-``s`` mask features sits at input pixel ``(s * x + s // 2, s * y + s // 2)``; channel 0 is
      ``ref_x - (s * x + s // 2)`` and channel 1 ``ref_y - (s * y + s // 2)``, in input pixels (not normalised).
    - All (frame, query) pairs run as one grouped convolution (``groups = N * Q``), as ReferFormer does; the
      masks stay at the mask-feature stride (ReferFormer ``mask_out_stride = mask_feat_stride = 4``).

    Args:
        in_channels: query embedding dimension ``C`` (AuTR: 256).
        mask_channels: channels ``C_m`` of the mask features (AuTR: 256).
        channels: hidden channels of the dynamic convs (ReferFormer: 8).
        num_layers: number of dynamic 1x1 convs (ReferFormer: 3; at least 1).
        controller_layers: layers of the kernel-predicting MLP ``g`` (paper Eq. 1: 2).
        rel_coord: concatenate the relative coordinates to the mask features (spec sheet A8; default True).
        mask_stride: stride of the mask features in input pixels (4).
        init_cfg: mmengine init config (None: the ReferFormer init above).
    """

    def __init__(self,
                 in_channels: int = 256,
                 mask_channels: int = 256,
                 channels: int = 8,
                 num_layers: int = 3,
                 controller_layers: int = 2,
                 rel_coord: bool = True,
                 mask_stride: int = 4,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1 or channels < 1 or controller_layers < 1 or mask_stride < 1:
            raise ValueError(f'DynamicMaskHead: num_layers, channels, controller_layers and mask_stride must be '
                             f'>= 1, got {num_layers}, {channels}, {controller_layers}, {mask_stride}')
        self.in_channels = in_channels
        self.mask_channels = mask_channels
        self.channels = channels
        self.num_layers = num_layers
        self.rel_coord = rel_coord
        self.mask_stride = mask_stride

        first_in = mask_channels + (2 if rel_coord else 0)
        ins = [first_in] + [channels] * (num_layers - 1)
        outs = [channels] * (num_layers - 1) + [1]
        self.layer_shapes: List[Tuple[int, int]] = list(zip(outs, ins))
        self.weight_nums = [o * i for o, i in self.layer_shapes]
        self.bias_nums = list(outs)
        self.num_gen_params = sum(self.weight_nums) + sum(self.bias_nums)
        self.controller = MLP(in_channels, in_channels, self.num_gen_params, controller_layers)
        self._init_controller()

    def _init_controller(self) -> None:
        for layer in self.controller.layers:
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def init_weights(self) -> None:
        super().init_weights()
        if self.init_cfg is None:
            self._init_controller()

    def parse_params(self, params: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
        """Split flat per-instance parameters into conv weights and biases.

        Args:
            params: ``[M, num_gen_params]`` (one row per (frame, query) instance).

        Returns:
            ``weights``: ``num_layers`` tensors ``[M, out_l, in_l]``; ``biases``: ``num_layers`` tensors
            ``[M, out_l]``.
        """
        if params.dim() != 2 or params.shape[1] != self.num_gen_params:
            raise ValueError(f'DynamicMaskHead: params must be [M, {self.num_gen_params}], got {list(params.shape)}')
        splits = torch.split(params, self.weight_nums + self.bias_nums, dim=1)
        weights = [w.reshape(-1, o, i) for w, (o, i) in zip(splits[:self.num_layers], self.layer_shapes)]
        biases = list(splits[self.num_layers:])
        return weights, biases

    def relative_coords(self, ref_points: Tensor, height: int, width: int) -> Tensor:
        """Relative coordinates of every mask-feature pixel to every reference point.

        Args:
            ref_points: ``[N, Q, 2]`` reference points ``(x, y)`` in input pixels.
            height, width: size ``(H4, W4)`` of the mask features.

        Returns:
            ``[N, Q, 2, H4, W4]``: ``ref_x - (s * x + s // 2)`` and ``ref_y - (s * y + s // 2)``.
        """
        s = self.mask_stride
        dtype, device = ref_points.dtype, ref_points.device
        loc_x = torch.arange(width, dtype=dtype, device=device) * s + s // 2
        loc_y = torch.arange(height, dtype=dtype, device=device) * s + s // 2
        rel_x = ref_points[..., 0, None, None] - loc_x.view(1, 1, 1, width)
        rel_y = ref_points[..., 1, None, None] - loc_y.view(1, 1, height, 1)
        return torch.stack([rel_x.expand(-1, -1, height, -1), rel_y.expand(-1, -1, -1, width)], dim=2)

    def forward(self, query: Tensor, mask_feats: Tensor, ref_points: Optional[Tensor] = None) -> Tensor:
        """Mask logits of every query of every frame.

        Args:
            query: decoder output embeddings ``[N, Q, C]`` (``N = B*T`` frames, ``Q`` queries per frame).
            mask_feats: mask features ``[N, C_m, H4, W4]`` at stride ``mask_stride``.
            ref_points: ``[N, Q, 2]`` reference points ``(x, y)`` in input pixels (required with ``rel_coord``).

        Returns:
            Mask logits ``[N, Q, H4, W4]``.
        """
        if query.dim() != 3 or query.shape[2] != self.in_channels:
            raise ValueError(f'DynamicMaskHead: query must be [N, Q, {self.in_channels}], got {list(query.shape)}')
        n, q = query.shape[:2]
        if mask_feats.dim() != 4 or mask_feats.shape[:2] != (n, self.mask_channels):
            raise ValueError(f'DynamicMaskHead: mask_feats must be [{n}, {self.mask_channels}, H, W], got '
                             f'{list(mask_feats.shape)}')
        h, w = mask_feats.shape[-2:]
        feats = mask_feats.unsqueeze(1).expand(n, q, -1, h, w)
        if self.rel_coord:
            if ref_points is None or ref_points.shape != (n, q, 2):
                shape = None if ref_points is None else list(ref_points.shape)
                raise ValueError(f'DynamicMaskHead: ref_points must be [{n}, {q}, 2] (x, y in input pixels) with '
                                 f'rel_coord=True, got {shape}')
            coords = self.relative_coords(ref_points.to(mask_feats.dtype), h, w)
            feats = torch.cat([feats, coords], dim=2)
        x = feats.reshape(1, -1, h, w)  # [1, N*Q*C_in, H4, W4]: one group per instance

        weights, biases = self.parse_params(self.controller(query).reshape(n * q, -1))
        for i, (weight, bias) in enumerate(zip(weights, biases)):
            x = F.conv2d(x, weight.reshape(-1, weight.shape[-1], 1, 1), bias.reshape(-1), groups=n * q)
            if i < self.num_layers - 1:
                x = F.relu(x)
        return x.reshape(n, q, h, w)
