"""COMBO's segmentation head: Mask2Former with bilateral fusion, audio queries and the inter-frame loss."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.models.layers.transformer.utils import MLP
from mmseg.utils import OptConfigType, SampleList
from torch import Tensor

from avsseg.registry import MODELS
from avsseg.structures import AVFeatures, frame_flags
from .audio_query_mask2former_head import AudioQueryMask2FormerHead

QUERY_FUSE_TYPES = ('add', 'all')
QUERY_LAYOUTS = ('paper', 'official')


def official_query_audio_index(num_rows: int, num_queries: int) -> Tensor:
    """Which audio row each query gets in the official COMBO decoder: ``[num_rows, num_queries]`` indices.

    The official ``transformer_decoder.py`` adds ``audio.repeat(1, Q, 1).reshape(Q, -1, C)`` (audio ``[bt, 1, C]``)
    to its ``[Q, bt, C]`` queries; the reshape reinterprets memory, so query ``q`` of row ``n`` gets the audio of row
    ``(q * bt + n) // Q`` of the same batch.
    """
    rows = torch.arange(num_rows).view(-1, 1)
    queries = torch.arange(num_queries).view(1, -1)
    return (queries * num_rows + rows) // num_queries


@MODELS.register_module()
class COMBOHead(AudioQueryMask2FormerHead):
    """Head of COMBO (Yang et al., CVPR 2024): :class:`AudioQueryMask2FormerHead` plus what the paper adds.

    What COMBO adds to the shared decoder (the hooks of the base class):

    - :meth:`fuse_pixel_features`: the Bilateral-Fusion Module (``fusion``, :class:`BilateralFusion`) on the pixel
      decoder's stride-4 mask features and the per-frame audio feature (official ``FUSION_STEP: late``,
      ``FUSED_BACKBONE: [res2]``);
    - :meth:`init_queries`: the fused audio goes through an MLP into query space (official ``128 -> 4096 -> 4096 ->
      256``, ReLU; mmdet's ``MLP``) and becomes the object queries: ``'add'`` (default) adds it to the learnable
      query features of every query, ``'all'`` uses it alone for all queries (paper Table 6; ``query_feat`` is then
      not built). The learnable query positional embedding is used in both modes;
    - :meth:`extra_losses`: the adaptive inter-frame consistency loss (``loss_ada``,
      :class:`AdaptiveInterFrameLoss`) on the mask predictions of the layers in ``ada_loss_layers`` over all real
      (not ``is_padded``) frames of each clip; the Mask2Former losses stay on the labelled frames (S4 training:
      frame 1).

    Inference: the base class's semantic post-processing (binary subsets: 2 channels, foreground probability
    ``softmax(.)[1]``-weighted masks as in the official evaluator).

    Args:
        num_classes: classes including background (2 for S4/MS3, 71 for AVSS).
        audio_channels: size of the audio feature (VGGish: 128).
        audio_mlp_channels: hidden width of the audio MLP (4096).
        audio_mlp_layers: number of linear layers of the audio MLP (3).
        fusion: BFM config; ``in_channels`` (the mask-feature channels ``out_channels``) and ``audio_channels``
            are filled in. ``None`` or ``mode='none'``: no fusion (the audio MLP and audio queries remain, as in
            the official ``MHA-None``).
        query_fuse: ``'add'`` or ``'all'``.
        query_layout: which frame's audio each query gets. ``'paper'`` (default): every query of frame ``n`` gets
            frame ``n``'s audio, as the paper describes. ``'official'``: the layout of the released code (see
            :func:`official_query_audio_index`), reproduced over the whole batch in training and over each clip at
            test (the official test loader holds one clip per batch): at test, with ``T`` frames and ``Q``
            queries, queries ``0..Q/T-1`` of every frame get frame 1's audio, the next ``Q/T`` frame 2's, ...; in
            training a frame's queries carry the audio of all frames of the batch. Use it to evaluate converted
            official checkpoints (docs/combo.md).
        loss_ada: config of the inter-frame loss (``AdaptiveInterFrameLoss``) or None to disable it.
        ada_loss_layers: indices into the ``num_layers + 1`` predictions (0 = from the initial queries) on which
            ``loss_ada`` is computed. Default (None): every prediction except the last, as the official code
            ("only in the intermediate transformer decoder layer"): 0..8 for 9 decoder layers.
        **kwargs: arguments of :class:`AudioQueryMask2FormerHead` (``with_cp``, ``fp32_pixel_decoder``) and mmseg's
            ``Mask2FormerHead`` (``in_channels``, ``feat_channels``, ``out_channels``, ``num_queries``,
            ``pixel_decoder``, ``transformer_decoder``, losses, ``train_cfg``, ...).
    """

    def __init__(self,
                 num_classes: int,
                 audio_channels: int = 128,
                 audio_mlp_channels: int = 4096,
                 audio_mlp_layers: int = 3,
                 fusion: OptConfigType = dict(type='BilateralFusion'),
                 query_fuse: str = 'add',
                 query_layout: str = 'paper',
                 loss_ada: OptConfigType = dict(type='AdaptiveInterFrameLoss', loss_weight=10.0),
                 ada_loss_layers: Optional[Sequence[int]] = None,
                 **kwargs):
        super().__init__(num_classes=num_classes, audio_channels=audio_channels, **kwargs)
        if query_fuse not in QUERY_FUSE_TYPES:
            raise ValueError(f'COMBOHead: query_fuse must be one of {QUERY_FUSE_TYPES}, got {query_fuse!r}')
        self.query_fuse = query_fuse
        if query_layout not in QUERY_LAYOUTS:
            raise ValueError(f'COMBOHead: query_layout must be one of {QUERY_LAYOUTS}, got {query_layout!r}')
        self.query_layout = query_layout
        feat_channels = kwargs['feat_channels']
        out_channels = kwargs['out_channels']

        self.fusion = None
        if fusion is not None:
            fusion = dict(fusion)
            fusion.setdefault('in_channels', out_channels)
            fusion.setdefault('audio_channels', audio_channels)
            self.fusion = MODELS.build(fusion)
        self.audio_mlp = MLP(audio_channels, audio_mlp_channels, feat_channels, audio_mlp_layers)
        if query_fuse == 'all':
            # queries come from the audio only; a learnable query feature would get no gradient
            del self.query_feat

        num_predictions = self.num_transformer_decoder_layers + 1
        if ada_loss_layers is None:
            ada_loss_layers = list(range(num_predictions - 1))
        ada_loss_layers = [int(i) for i in ada_loss_layers]
        bad = [i for i in ada_loss_layers if not 0 <= i < num_predictions]
        if bad or len(set(ada_loss_layers)) != len(ada_loss_layers):
            raise ValueError(f'COMBOHead: ada_loss_layers must be distinct indices in [0, {num_predictions}), got '
                             f'{ada_loss_layers}')
        self.ada_loss_layers = ada_loss_layers
        self.loss_ada = MODELS.build(loss_ada) if loss_ada is not None else None

    def fuse_pixel_features(self, mask_features: Tensor, multi_scale_memorys: List[Tensor],
                            inputs: AVFeatures) -> Tuple[Tensor, List[Tensor], AVFeatures]:
        """BFM on the mask features ``[N, C, H/4, W/4]`` and the audio ``[N, audio_channels]``."""
        if self.fusion is None:
            return mask_features, multi_scale_memorys, inputs
        fused = self.fusion(inputs.replace(visual=(mask_features, )))
        return fused[0], multi_scale_memorys, inputs.replace(audio=fused.audio)

    def official_query_audio(self, audio_query: Tensor, num_frames: int) -> Tensor:
        """``[N, C]`` per-frame audio in query space -> ``[N, Q, C]`` laid out as the official decoder does."""
        num_rows = audio_query.shape[0]
        # training: the whole batch is the official bt; test: one clip per official batch
        group = num_rows if self.training else num_frames
        index = official_query_audio_index(group, self.num_queries).to(audio_query.device)
        offsets = torch.arange(0, num_rows, group, device=audio_query.device).view(-1, 1, 1)
        return audio_query[(index.unsqueeze(0) + offsets).reshape(num_rows, self.num_queries)]

    def init_queries(self, inputs: AVFeatures, batch_size: int) -> Tuple[Tensor, Tensor]:
        """Audio queries ``[N, Q, feat_channels]`` from the (fused) audio, with the learnable positions."""
        audio_query = self.audio_mlp(inputs.audio)  # [N, feat_channels]
        query_embed = self.query_embed.weight.unsqueeze(0).repeat((batch_size, 1, 1))
        if self.query_layout == 'paper':
            query_audio = audio_query.unsqueeze(1)  # [N, 1, C]: the frame's own audio for every query
        else:
            query_audio = self.official_query_audio(audio_query, inputs.num_frames)
        if self.query_fuse == 'add':
            query_feat = self.query_feat.weight.unsqueeze(0) + query_audio
        else:
            query_feat = query_audio.expand(-1, self.num_queries, -1).contiguous()
        return query_feat, query_embed

    def extra_losses(self, all_cls_scores: List[Tensor], all_mask_preds: List[Tensor], inputs: AVFeatures,
                     data_samples: SampleList) -> Dict[str, Tensor]:
        """``d{i}.loss_ada`` for the layers in ``ada_loss_layers`` (``loss_ada`` if it includes the last)."""
        if self.loss_ada is None:
            return {}
        real = ~frame_flags(data_samples, 'is_padded', all_mask_preds[0].device)
        last = len(all_mask_preds) - 1
        losses = {}
        for i in self.ada_loss_layers:
            name = self.loss_ada.loss_name if i == last else f'd{i}.{self.loss_ada.loss_name}'
            losses[name] = self.loss_ada(all_mask_preds[i], inputs.num_frames, real)
        return losses
