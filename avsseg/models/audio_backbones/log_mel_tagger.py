"""A small trainable audio tagger on raw 16 kHz waveforms: Kaldi log-mel -> LogMelCNN -> linear tag head."""
from typing import List, Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from avsseg.registry import MODELS
from .audioset_labels import read_class_labels_csv

OUTPUTS = ('embedding', 'logits', 'probs')


@MODELS.register_module()
class LogMelTagger(BaseModule):
    """Waveform windows ``[N, L]`` -> tag embeddings / logits / sigmoid confidences, with AudioSet-style mids.

    Not from a paper: the stand-in for BEATs / AST in BAVS's tiny synthetic smoke test (bavs.md §6.5, "stage 0"),
    where no pretrained AudioSet tagger can be downloaded. It is trained by
    :class:`~avsseg.models.segmentors.AudioTaggingModel` (multi-label BCE) and then used, frozen, as the
    ``audio_backbone`` of :class:`~avsseg.models.segmentors.BAVSSegmentor` with ``output='probs'``, exactly as a
    real tagger (:class:`HFAudioTagger`, :class:`BEATs`): it exposes ``label_mids`` (the tags' ids in output
    order, read from a ``class_labels_indices.csv``-style file such as ``configs/bavs/trees/synthetic_tags.csv``),
    which the audio-visual tree is keyed by.

    Data flow: ``wave [N, L]`` (16 kHz, e.g. :class:`~avsseg.datasets.transforms.LoadClipWaveform`'s 1 s windows)
    -> ``front_end`` (:class:`KaldiFbank`) ``[N, frames, mels]`` -> ``[N, 1, frames, mels]`` -> ``encoder``
    (:class:`LogMelCNN`) ``[N, D]`` -> ``head`` (``Linear(D, num_labels)``) ``[N, num_labels]``.

    Args:
        label_csv: csv with the columns ``index,mid,display_name`` (AudioSet's ``class_labels_indices.csv``
            format); its rows, in index order, are the tags (``num_labels`` = rows).
        front_end: :class:`KaldiFbank` config.
        encoder: :class:`LogMelCNN` config (``in_channels=1``).
        output: ``'probs'`` (sigmoid, for tagging), ``'logits'`` or ``'embedding'`` (the head's input ``[N, D]``).
        freeze: no gradients and eval mode (BatchNorm statistics kept), as a frozen tagger in stage 2.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 label_csv: str,
                 front_end: dict = dict(type='KaldiFbank', num_mel_bins=64, frame_length=25.0, frame_shift=10.0,
                                        window_type='hanning', waveform_scale=1.0, mean=None, std=None,
                                        max_length=None),
                 encoder: dict = dict(type='LogMelCNN', channels=(16, 32, 64), out_channels=128),
                 output: str = 'probs',
                 freeze: bool = False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if output not in OUTPUTS:
            raise ValueError(f'LogMelTagger: output must be one of {OUTPUTS}, got {output!r}')
        labels = read_class_labels_csv(label_csv)  # refuses an empty or malformed csv, naming the file and row
        self.label_csv = label_csv
        self.label_mids: List[str] = [mid for mid, _ in labels]
        self.label_names: List[str] = [name for _, name in labels]
        self.front_end = MODELS.build(front_end)
        self.encoder = MODELS.build(encoder)
        self.embed_dims = int(self.encoder.out_channels)
        self.head = nn.Linear(self.embed_dims, len(self.label_mids))
        self.output = output
        self.freeze = bool(freeze)
        self.out_channels = self.embed_dims if output == 'embedding' else len(self.label_mids)
        if self.freeze:
            self.requires_grad_(False)

    @property
    def num_labels(self) -> int:
        return len(self.label_mids)

    def train(self, mode: bool = True) -> 'LogMelTagger':
        # a frozen tagger keeps its BatchNorm statistics even when the surrounding model trains
        return super().train(mode and not self.freeze)

    def embed(self, wave: Tensor) -> Tensor:
        """``[N, L]`` waveforms -> ``[N, D]`` clip embeddings."""
        return self.encoder(self.front_end(wave).unsqueeze(1))

    def logits(self, wave: Tensor) -> Tensor:
        """``[N, L]`` waveforms -> ``[N, num_labels]`` tag logits (what :class:`AudioTaggingModel` trains)."""
        return self.head(self.embed(wave))

    def forward(self, wave: Tensor) -> Tensor:
        """``[N, L]`` -> ``[N, D]`` (``'embedding'``) or ``[N, num_labels]`` (``'logits'`` / ``'probs'``)."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze):
            if self.output == 'embedding':
                return self.embed(wave)
            logits = self.logits(wave)
            return logits if self.output == 'logits' else logits.sigmoid()

    def label_index(self, mid: str) -> Optional[int]:
        """Output column of ``mid`` (None when the tagger has no such tag)."""
        return self.label_mids.index(mid) if mid in self.label_mids else None

    def extra_repr(self) -> str:
        return f'label_csv={self.label_csv!r}, num_labels={self.num_labels}, output={self.output!r}'
