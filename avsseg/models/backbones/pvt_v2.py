"""PVT-v2 with the LayerNorm epsilons of the official PVT-v2 code (used by AVSBench and COMBO)."""
from mmdet.models.backbones.pvt import PyramidVisionTransformerV2
from torch import nn

from avsseg.registry import MODELS


@MODELS.register_module()
class PVTv2(PyramidVisionTransformerV2):
    """mmdet's ``PyramidVisionTransformerV2`` whose patch-embedding and spatial-reduction LayerNorms use the
    official epsilons.

    The official ``pvt_v2.py`` builds its blocks' and stages' norms with ``eps=1e-6`` (mmdet's ``norm_cfg`` here)
    but the norm of each overlapping patch embedding (4) and of each spatial-reduction attention (one per block of
    the stages with ``sr_ratio > 1``: 3 + 6 + 40 = 49 in b5) with PyTorch's default ``1e-5``. mmdet uses
    ``norm_cfg`` everywhere; this class resets those 53 norms (b5) so a converted official checkpoint computes the
    official features. Parameters and state-dict keys are mmdet's.

    Args:
        patch_embed_norm_eps: eps of the patch-embedding LayerNorms (official 1e-5).
        sr_norm_eps: eps of the spatial-reduction LayerNorms (official 1e-5).
        **kwargs: arguments of mmdet's ``PyramidVisionTransformerV2`` (``norm_cfg`` sets the other norms).
    """

    def __init__(self, patch_embed_norm_eps: float = 1e-5, sr_norm_eps: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        for stage in self.layers:
            patch_embed, blocks = stage[0], stage[1]
            self._set_eps(patch_embed.norm, patch_embed_norm_eps)
            for block in blocks:
                if getattr(block.attn, 'sr_ratio', 1) > 1:
                    self._set_eps(block.attn.norm, sr_norm_eps)

    @staticmethod
    def _set_eps(norm: nn.Module, eps: float) -> None:
        if not isinstance(norm, nn.LayerNorm):
            raise TypeError(f'PVTv2: expected a LayerNorm, got {type(norm).__name__} (norm_cfg must be LN)')
        norm.eps = eps
