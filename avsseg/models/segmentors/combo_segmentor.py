"""Segmentor of COMBO: an :class:`AudioVisualSegmentor` whose backbone also sees the Maskige images."""
from typing import Dict, Tuple

from torch import Tensor

from avsseg.registry import MODELS
from .audio_visual_segmentor import AudioVisualSegmentor


@MODELS.register_module()
class COMBOSegmentor(AudioVisualSegmentor):
    """COMBO (Yang et al., CVPR 2024) segmentor.

    Same data flow as :class:`AudioVisualSegmentor`, except that the visual backbone (a :class:`SiamEncoder`)
    takes ``(frames, maskige)``: ``inputs['maskige']`` ``[B*T, 3, H, W]`` is normalised and padded like the
    frames by ``AVSDataPreprocessor`` (loaded by ``LoadClipMaskige``). The fusion (BFM) and the audio queries
    live in :class:`COMBOHead`, so no neck is needed.
    """

    def extract_visual_feat(self, inputs: Dict[str, Tensor]) -> Tuple[Tensor]:
        """``frames, maskige [B*T, 3, H, W] -> tuple of [B*T, C_i, H_i, W_i]``."""
        if getattr(self.backbone, 'use_maskige', False) and 'maskige' not in inputs:
            raise ValueError("COMBOSegmentor: the Siam-Encoder needs inputs['maskige']; add LoadClipMaskige to "
                             'the pipeline (or set backbone.use_maskige=False)')
        return tuple(self.backbone(inputs['frames'], inputs.get('maskige')))
