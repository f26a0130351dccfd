"""A transformers audio classifier (AST on AudioSet by default) as an avsseg audio backbone: waveforms in, embeddings,
logits or tag probabilities out."""
from contextlib import nullcontext
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from avsseg.registry import MODELS
from .audioset_labels import label_mids_from_csv
from .fbank import KaldiFbank
from .hf_utils import (build_feature_extractor, build_hf_model, check_waveforms, first_linear_in_features,
                       freeze_module, run_feature_extractor)

OUTPUTS = ('embedding', 'logits', 'probs')
AST_MODEL_TYPE = 'audio-spectrogram-transformer'


@MODELS.register_module()
class HFAudioTagger(BaseModule):
    """An audio tagger from transformers (``ASTForAudioClassification`` or any ``AutoModelForAudioClassification``):
    16 kHz waveforms ``[N, L]`` -> ``[N, D]`` embeddings, ``[N, num_labels]`` logits or probabilities.

    The stage-2 audio branch of the two-stage methods (seed 001 AVSC, BAVS): AST fine-tuned on AudioSet
    (``MIT/ast-finetuned-audioset-10-10-0.4593``, 527 classes) is the spec sheets' alternative to BEATs
    (seed001.md 6.4, bavs.md 6.4). Input is what :class:`~avsseg.datasets.transforms.LoadClipWaveform` packs and
    the segmentor passes on: one 1 s window per frame, ``inputs['audio']`` ``[B*T, 16000]``.

    Front end (the model's own, so the outputs equal transformers' pipeline on the same waveform):

    - AST: :class:`KaldiFbank` with the ``'ast'`` preset, its ``mean`` / ``std`` / ``max_length`` /
      ``num_mel_bins`` / ``do_normalize`` taken from the folder's ``preprocessor_config.json`` when there is one
      (else ``ASTFeatureExtractor``'s defaults and the model config's ``max_length``). A 1 s window gives 98
      frames, zero-padded to ``max_length`` (1024 for the AudioSet checkpoint), as ``ASTFeatureExtractor`` pads:
      the pretrained position embeddings are for 1024 frames, and padding is the faithful-to-transformers choice
      (seed001.md 6.4).
    - other models: the folder's feature extractor (``AutoFeatureExtractor``), or ``feature_extractor=dict(type=
      'Wav2Vec2FeatureExtractor', ...)``; it runs on the CPU in numpy (the waveform is resampled to its
      ``sampling_rate`` first when that is not ``sample_rate``).

    Outputs (``output``):

    - ``'embedding'``: the input of the model's classification layer (``model.classifier``): AST's pooled output
      (the mean of its [CLS] and distillation tokens), ``[N, hidden_size]``;
    - ``'logits'``: ``[N, num_labels]``;
    - ``'probs'``: ``sigmoid(logits)``, AudioSet being multi-label (BAVS's tag scores).

    ``label_names`` are the model config's ``id2label`` in output order; with ``class_labels_csv`` (AudioSet's
    ``class_labels_indices.csv``) ``label_mids`` gives each output's AudioSet mid, after checking that every name
    is a display name of the csv and in the csv's order (an error otherwise, bavs.md 6.4).

    Args:
        pretrained: local folder written by ``save_pretrained`` (``config.json``, weights,
            ``preprocessor_config.json``), loaded with ``local_files_only=True``; a missing folder is an error
            naming it. Never a hub id or URL.
        config: config fields for random weights (tests, tiny synthetic runs), e.g. ``dict(hidden_size=32,
            num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, max_length=98, num_labels=527)``.
            Given with ``pretrained``, each field must equal the folder's.
        model_type: transformers model type for ``config`` (default AST).
        hf_class: transformers class to build (default ``'AutoModelForAudioClassification'``).
        output: ``'embedding'``, ``'logits'`` or ``'probs'``.
        freeze: keep the model in eval mode (also when the parent's ``train()`` is called), without gradients, run
            under ``torch.no_grad()``: the two-stage methods keep the tagger frozen.
        class_labels_csv: AudioSet ``class_labels_indices.csv`` for ``label_mids``; None leaves them unset.
        feature_extractor: ``dict(type=<transformers feature extractor class>, **kwargs)`` overriding the folder's.
        front_end: a :class:`KaldiFbank` config used instead of the automatic front end (AST-like models only).
        sample_rate: rate of the input waveforms.
        init_cfg: unused (weights come from ``pretrained`` or ``config`` at construction).
    """

    def __init__(self,
                 pretrained: Optional[str] = None,
                 config: Optional[Dict] = None,
                 model_type: str = AST_MODEL_TYPE,
                 hf_class: str = 'AutoModelForAudioClassification',
                 output: str = 'probs',
                 freeze: bool = True,
                 class_labels_csv: Optional[str] = None,
                 feature_extractor: Optional[Dict] = None,
                 front_end: Optional[Dict] = None,
                 sample_rate: int = 16000,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        if output not in OUTPUTS:
            raise ValueError(f'{name}: output must be one of {OUTPUTS}, got {output!r}')
        self.pretrained = None if pretrained is None else str(pretrained)
        self.output = output
        self.freeze = freeze
        self.sample_rate = int(sample_rate)
        self.model = build_hf_model(hf_class, name, pretrained=self.pretrained, config=config, model_type=model_type)
        if not isinstance(getattr(self.model, 'classifier', None), nn.Module):
            raise ValueError(f'{name}: {type(self.model).__name__} has no classifier module; HFAudioTagger wraps '
                             'audio classification models (use HFAudioEncoder for encoders)')
        mcfg = self.model.config
        self.label_names: List[str] = [str(mcfg.id2label[i]) for i in range(mcfg.num_labels)]
        self.label_mids: Optional[List[str]] = None
        if class_labels_csv is not None:
            self.label_mids = label_mids_from_csv(self.label_names, class_labels_csv, what=f'{name}({pretrained})')
        self.embed_dims = first_linear_in_features(self.model.classifier)
        self.out_channels = self.embed_dims if output == 'embedding' else mcfg.num_labels

        extractor = build_feature_extractor(name, self.pretrained, feature_extractor)
        self.extractor = None
        if front_end is not None:
            self.front_end = MODELS.build(front_end)
        elif mcfg.model_type == AST_MODEL_TYPE and type(extractor).__name__ in ('NoneType', 'ASTFeatureExtractor'):
            self.front_end = self._ast_front_end(mcfg, extractor)
        elif extractor is not None:
            self.front_end = None
            self.extractor = extractor
        else:
            raise ValueError(f'{name}: {mcfg.model_type} needs a feature extractor: put preprocessor_config.json in '
                             "the pretrained folder or give feature_extractor=dict(type=..., ...)")
        if self.front_end is not None and getattr(self.front_end, 'sample_rate', self.sample_rate) != self.sample_rate:
            raise ValueError(f'{name}: the front end is for {self.front_end.sample_rate} Hz but sample_rate is '
                             f'{self.sample_rate}; resample the waveforms or give a matching front_end')
        if self.freeze:
            freeze_module(self.model)

    @staticmethod
    def _ast_front_end(mcfg, extractor) -> KaldiFbank:
        """KaldiFbank equal to ``ASTFeatureExtractor`` with the folder's (or the default) settings."""
        if extractor is None:
            return KaldiFbank(preset='ast', max_length=mcfg.max_length, num_mel_bins=mcfg.num_mel_bins)
        if int(extractor.sampling_rate) != 16000:
            raise ValueError(f'HFAudioTagger: the AST feature extractor is for {extractor.sampling_rate} Hz; the '
                             'ast front end is for 16 kHz')
        return KaldiFbank(preset='ast', max_length=extractor.max_length, num_mel_bins=extractor.num_mel_bins,
                          mean=extractor.mean, std=extractor.std if extractor.do_normalize else None)

    def init_weights(self) -> None:
        """Nothing to do: the weights were set at construction (``pretrained`` or ``config``).

        mmengine's recursive ``init_weights`` would otherwise call transformers' ``PreTrainedModel.init_weights``
        on the wrapped model, which re-draws every weight that the transformers version in use does not mark as
        loaded, and logs a line per parameter.
        """

    def train(self, mode: bool = True) -> 'HFAudioTagger':
        super().train(mode)
        if self.freeze:
            self.model.eval()
        return self

    def model_inputs(self, wave: Tensor) -> Dict[str, Tensor]:
        """Waveforms ``[N, L]`` -> the wrapped model's keyword inputs (AST: ``input_values [N, frames, mel]``)."""
        wave = check_waveforms(wave, type(self).__name__, self.sample_rate)
        if self.front_end is not None:
            return dict(input_values=self.front_end(wave))
        return run_feature_extractor(self.extractor, wave, self.sample_rate)

    def forward(self, wave: Tensor) -> Tensor:
        """``[N, L]`` 16 kHz waveforms -> ``[N, embed_dims]`` (``'embedding'``) or ``[N, num_labels]``."""
        with torch.no_grad() if self.freeze else nullcontext():
            return self._forward(wave)

    def _forward(self, wave: Tensor) -> Tensor:
        captured: List[Tensor] = []
        hook = None
        if self.output == 'embedding':
            hook = self.model.classifier.register_forward_pre_hook(lambda _, args: captured.append(args[0]))
        try:
            logits = self.model(**self.model_inputs(wave)).logits
        finally:
            if hook is not None:
                hook.remove()
        if self.output == 'embedding':
            return captured[0]
        return logits if self.output == 'logits' else logits.sigmoid()

    @property
    def label_index(self) -> Dict[str, int]:
        """``{mid: output index}`` (needs ``class_labels_csv``)."""
        if self.label_mids is None:
            raise AttributeError('HFAudioTagger: label mids need class_labels_csv')
        return {mid: i for i, mid in enumerate(self.label_mids)}

    def extra_repr(self) -> str:
        source: Union[str, None] = self.pretrained or 'random weights from config'
        return f'source={source!r}, output={self.output!r}, freeze={self.freeze}'
