"""Stage 2 of seed 001 ("CMMS", §3.2-3.3): audio-visual semantic correlation (AVSC).

An MLP turns the clip's audio embedding of each frame into one score per category, ``P_a``; the frame's prediction
is the potential instance masks of stage 1 weighted by the score of their category (Eq. 1), trained with a BCE
against the ground-truth mask (L_avc, Eq. 6). The audio category labels are never used (§3.2).
"""
from typing import Dict, List, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from mmseg.utils import SampleList
from torch import Tensor, nn

from avsseg.registry import MODELS
from avsseg.structures import labeled_index

ACTIVATIONS = ('sigmoid', 'softmax')
COMPOSITIONS = ('sum', 'max', 'noisy_or')


@MODELS.register_module()
class AVSCHead(BaseModule):
    """MLP -> per-category scores ``P_a``; ``S = sum_j P_a[c_j] * m_j`` (Eq. 1); L_avc = BCE(S, M_gt) (Eq. 6).

    Data flow for ``N`` frames (rows ``b*T + t``):

    - :meth:`forward`: audio embeddings ``[N, in_channels]`` -> MLP (``Linear -> ReLU`` per hidden layer, then
      ``Linear(., K)``) -> ``activation`` -> ``P_a`` ``[N, K]``;
    - :meth:`compose`: ``P_a`` and each frame's potential instance set (``InstanceData`` with ``labels`` long
      ``[N_p]`` in ``0..K-1`` and binary ``masks`` ``[N_p, H, W]``, from ``PSOSHead.predict_instances`` or the
      stage-1 cache) -> ``S`` ``[N, H, W]`` in [0, 1] (clamped). Gradients reach ``P_a`` only through the pixels
      some ``m_j`` covers; a frame without instances is all 0 (predicted empty);
    - :meth:`loss`: ``loss_avc`` = ``F.binary_cross_entropy(S.clamp(eps, 1 - eps), M_gt)``, the mean over the
      non-ignored pixels of the labelled frames (``is_labeled``), ``M_gt = gt_sem_seg > 0`` (binary S4 / MS3 masks;
      class-index masks work too), ``ignore_index`` pixels left out;
    - :meth:`predict`: ``logit(S)`` ``[N, 1, H, W]``; mmseg's ``postprocess_result`` applies the sigmoid, so the
      metric (``AVSBinaryMetric``, ``one_channel_probs=True``) reads ``S`` back and binarises it at 0.5
      (``threshold``), as the AVSBench metric does.

    Choices where the paper is silent (seed001.md, recommendations): ``activation='sigmoid'`` per category (A3: the
    paper writes ``P_a in Delta^K``, a softmax, which cannot predict "nothing sounds" and cannot give two sounding
    instances ``p ~ 1`` each; ``'softmax'`` is the ablation switch); MLP ``in -> 512 -> K`` (A9); overlapping masks
    summed, then clamped (A11, the literal Eq. 1; ``compose='max'`` / ``'noisy_or'`` are options); ``eps = 1e-6``.

    Args:
        num_classes: K, the number of categories (the PSOS head's ``num_classes``).
        in_channels: size of the audio embedding (768 for BEATs, 128 for VGGish).
        hidden_channels: widths of the hidden MLP layers (``(512, )``; ``()`` for a single linear layer).
        activation: ``'sigmoid'`` or ``'softmax'`` over the K categories.
        compose: how overlapping instance masks combine: ``'sum'`` (Eq. 1), ``'max'`` or ``'noisy_or'``
            (``1 - prod(1 - p m)``).
        loss_weight: weight of ``loss_avc`` (1 in the paper).
        eps: clamp of ``S`` before the BCE and the logit.
        ignore_index: ground-truth value left out of the loss.
        threshold: binarisation threshold of ``pred_sem_seg`` (0.5, as the AVSBench metric).
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 hidden_channels: Sequence[int] = (512, ),
                 activation: str = 'sigmoid',
                 compose: str = 'sum',
                 loss_weight: float = 1.0,
                 eps: float = 1e-6,
                 ignore_index: int = 255,
                 threshold: float = 0.5,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if activation not in ACTIVATIONS:
            raise ValueError(f'AVSCHead: activation must be one of {ACTIVATIONS}, got {activation!r}')
        if compose not in COMPOSITIONS:
            raise ValueError(f'AVSCHead: compose must be one of {COMPOSITIONS}, got {compose!r}')
        if int(num_classes) < 1 or int(in_channels) < 1:
            raise ValueError(f'AVSCHead: num_classes and in_channels must be >= 1, got {num_classes}, {in_channels}')
        if not 0 < eps < 0.5:
            raise ValueError(f'AVSCHead: eps must be in (0, 0.5), got {eps}')
        self.num_classes = int(num_classes)
        self.in_channels = int(in_channels)
        self.activation = activation
        self.compose_mode = compose
        self.loss_weight = float(loss_weight)
        self.eps = float(eps)
        self.ignore_index = ignore_index
        self.threshold = float(threshold)
        layers: List[nn.Module] = []
        prev = self.in_channels
        for width in hidden_channels:
            layers += [nn.Linear(prev, int(width)), nn.ReLU(inplace=True)]
            prev = int(width)
        layers.append(nn.Linear(prev, self.num_classes))
        self.mlp = nn.Sequential(*layers)

    def forward(self, audio_feats: Tensor) -> Tensor:
        """Audio embeddings ``[N, in_channels]`` -> category scores ``P_a`` ``[N, K]`` in [0, 1]."""
        if audio_feats.dim() != 2 or audio_feats.shape[1] != self.in_channels:
            raise ValueError(f'AVSCHead expects audio embeddings [N, {self.in_channels}], got '
                             f'{list(audio_feats.shape)}; pool the audio backbone output to one vector per frame')
        logits = self.mlp(audio_feats)
        return torch.sigmoid(logits) if self.activation == 'sigmoid' else torch.softmax(logits, dim=-1)

    def compose(self, probs: Tensor, instances: Sequence[InstanceData]) -> Tensor:
        """Eq. 1: ``S[n] = sum_j probs[n, c_j] * m_j`` (or max / noisy-or), clamped to ``[eps, 1 - eps]``.

        Args:
            probs: ``P_a`` ``[N, K]``.
            instances: ``N`` potential instance sets; ``labels`` ``[N_p]`` in ``0..K-1``, ``masks`` ``[N_p, H, W]``
                (bool or 0/1), the same ``H, W`` for every frame.

        Returns:
            ``S`` ``[N, H, W]``.
        """
        if len(instances) != probs.shape[0]:
            raise ValueError(f'AVSCHead: {probs.shape[0]} frames of audio scores but {len(instances)} instance sets')
        shapes = {tuple(inst.masks.shape[-2:]) for inst in instances}
        if len(shapes) != 1:
            raise ValueError(f'AVSCHead: the instance masks of a batch must share one size, got {sorted(shapes)}')
        size = shapes.pop()
        maps = []
        for n, inst in enumerate(instances):
            labels = inst.labels.long().to(probs.device)
            if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_classes):
                raise ValueError(f'AVSCHead: instance labels {labels.tolist()} of frame {n} are outside '
                                 f'0..{self.num_classes - 1}')
            masks = inst.masks.to(device=probs.device, dtype=probs.dtype)
            weighted = probs[n, labels][:, None, None] * masks  # [N_p, H, W]
            if labels.numel() == 0:
                maps.append(probs.new_zeros(size))
            elif self.compose_mode == 'sum':
                maps.append(weighted.sum(0))
            elif self.compose_mode == 'max':
                maps.append(weighted.max(0).values)
            else:
                maps.append(1 - (1 - weighted).prod(0))
        return torch.stack(maps).clamp(self.eps, 1 - self.eps)

    def loss(self, audio_feats: Tensor, instances: Sequence[InstanceData],
             data_samples: SampleList) -> Dict[str, Tensor]:
        """``loss_avc`` over the labelled frames (see the class docstring).

        Args:
            audio_feats: ``[N, in_channels]``.
            instances: ``N`` potential instance sets (masks at the padded input size, as ``gt_sem_seg``).
            data_samples: the ``N`` data samples (``gt_sem_seg`` on the labelled frames).
        """
        idx = labeled_index(data_samples, audio_feats.device).tolist()
        probs = self.forward(audio_feats[idx])
        s_map = self.compose(probs, [instances[i] for i in idx])
        gts = []
        for i in idx:
            sample = data_samples[i]
            if 'gt_sem_seg' not in sample:
                raise ValueError(f'AVSCHead: labelled frame {sample.metainfo.get("img_path", i)} has no gt_sem_seg')
            gts.append(sample.gt_sem_seg.data[0])
        gt = torch.stack(gts).to(s_map.device)
        if gt.shape[-2:] != s_map.shape[-2:]:
            raise ValueError(f'AVSCHead: ground truth {list(gt.shape[-2:])} and instance masks '
                             f'{list(s_map.shape[-2:])} differ in size; stage 2 pipelines must not crop or pad '
                             'differently from the masks (cached masks are at the 224 test size)')
        valid = gt != self.ignore_index
        target = ((gt > 0) & valid).to(s_map.dtype)
        pixel = F.binary_cross_entropy(s_map, target, reduction='none')
        loss = (pixel * valid).sum() / valid.sum().clamp(min=1)
        return dict(loss_avc=self.loss_weight * loss)

    def predict(self, audio_feats: Tensor, instances: Sequence[InstanceData]) -> Tensor:
        """``logit(S)`` ``[N, 1, H, W]`` at the instance masks' (padded input) size."""
        s_map = self.compose(self.forward(audio_feats), instances)
        return torch.logit(s_map)[:, None]
