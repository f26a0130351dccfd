"""Any transformers audio encoder (wav2vec2, HuBERT, the Whisper encoder, the CLAP audio tower) as an avsseg audio
backbone: 16 kHz waveforms in, one embedding per window out."""
import inspect
import math
from contextlib import nullcontext
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from avsseg.registry import MODELS
from .hf_utils import build_feature_extractor, build_hf_model, check_waveforms, freeze_module, run_feature_extractor


@MODELS.register_module()
class HFAudioEncoder(BaseModule):
    """A transformers audio encoder with its own feature extractor: waveforms ``[N, L]`` at 16 kHz -> ``[N, D]``.

    For audio encoders other than the spec sheets' taggers (seed001.md 6.4 lists CLAP as an alternative audio
    encoder; wav2vec2 / HuBERT / Whisper are the generic wrapper of issue 12). Input is what
    :class:`~avsseg.datasets.transforms.LoadClipWaveform` packs: one 1 s window per frame, ``[B*T, 16000]``.

    Each window goes through the model's own feature extractor (the folder's ``preprocessor_config.json``, or
    ``feature_extractor=dict(type=..., ...)``), after resampling to its ``sampling_rate`` with torchaudio when that
    is not 16 kHz (CLAP: 48 kHz), and then through the model, exactly as transformers' own pipelines do:

    - wav2vec2 / HuBERT (``AutoModel``): ``Wav2Vec2FeatureExtractor`` (zero-mean unit-variance waveform) ->
      ``last_hidden_state [N, S, D]`` -> mean over the ``S`` steps (``pooling='mean'``);
    - Whisper (``AutoModel``, ``model_type='whisper'``): only the encoder is kept (``get_encoder()`` of an
      encoder-decoder model; the decoder's weights are dropped). ``WhisperFeatureExtractor`` gives the 80-band
      log-mel padded to its ``chunk_length`` (30 s for the released models), which the encoder requires; the mean
      is taken over the encoder steps covering the real audio (50 per second), not over the padding (our choice:
      a mean over 30 s of which 1 s is sound would mostly describe the padding);
    - CLAP (``hf_class='ClapAudioModelWithProjection'``, ``pooling='audio_embeds'``): ``ClapFeatureExtractor``
      (48 kHz, 1001 x 64 log-mel; a 1 s window is repeat-padded to 10 s when the folder says
      ``padding='repeatpad'``, as released) -> the projected 512-d ``audio_embeds``.

    Args:
        pretrained: local folder written by ``save_pretrained`` (``config.json``, weights,
            ``preprocessor_config.json``), loaded with ``local_files_only=True``; a missing folder is an error
            naming it. Never a hub id or URL.
        config: config fields for random weights (tests), e.g. ``dict(hidden_size=32, num_hidden_layers=1, ...)``;
            with ``pretrained``, each given field must equal the folder's.
        model_type: transformers model type for ``config`` with an ``Auto*`` class (``'wav2vec2'``, ``'hubert'``,
            ``'whisper'``).
        hf_class: transformers class (``'AutoModel'``, ``'ClapAudioModelWithProjection'``, ...).
        pooling: ``'mean'`` (mean of ``last_hidden_state`` over the real steps) or the name of an ``[N, D]`` field
            of the model output (``'audio_embeds'`` for CLAP, ``'pooler_output'``).
        freeze: keep the model in eval mode, without gradients, under ``torch.no_grad()`` (default, as the
            two-stage methods keep their audio encoders frozen).
        l2_normalize: divide each embedding by its L2 norm. CLAP's ``audio_embeds`` are unnormalised; with True they
            equal ``ClapModel.get_audio_features`` (the normalised audio-text joint space).
        feature_extractor: ``dict(type=<transformers feature extractor class>, **kwargs)``, overriding the folder's.
        sample_rate: rate of the input waveforms.
        init_cfg: unused (weights come from ``pretrained`` or ``config`` at construction).
    """

    def __init__(self,
                 pretrained: Optional[str] = None,
                 config: Optional[Dict] = None,
                 model_type: Optional[str] = None,
                 hf_class: str = 'AutoModel',
                 pooling: str = 'mean',
                 freeze: bool = True,
                 feature_extractor: Optional[Dict] = None,
                 l2_normalize: bool = False,
                 sample_rate: int = 16000,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        self.pretrained = None if pretrained is None else str(pretrained)
        self.pooling = pooling
        self.freeze = freeze
        self.l2_normalize = l2_normalize
        self.sample_rate = int(sample_rate)
        model = build_hf_model(hf_class, name, pretrained=self.pretrained, config=config, model_type=model_type)
        if getattr(model.config, 'is_encoder_decoder', False):
            model = model.get_encoder()  # Whisper: the decoder is not used
        self.model = model
        self.extractor = build_feature_extractor(name, self.pretrained, feature_extractor)
        if self.extractor is None:
            raise ValueError(f'{name}: {type(model).__name__} needs a feature extractor: put preprocessor_config.json '
                             'in the pretrained folder or give feature_extractor=dict(type=..., ...)')
        self._input_names = set(inspect.signature(model.forward).parameters)
        self.out_channels = self._embed_dims()
        if self.freeze:
            freeze_module(self.model)

    def _embed_dims(self) -> Optional[int]:
        cfg = self.model.config
        if self.pooling == 'audio_embeds' or self.pooling.endswith('_embeds'):
            return getattr(cfg, 'projection_dim', None)
        return getattr(cfg, 'hidden_size', getattr(cfg, 'd_model', None))

    def init_weights(self) -> None:
        """Nothing to do: the weights were set at construction (see :meth:`HFAudioTagger.init_weights`)."""

    def train(self, mode: bool = True) -> 'HFAudioEncoder':
        super().train(mode)
        if self.freeze:
            self.model.eval()
        return self

    def model_inputs(self, wave: Tensor) -> Dict[str, Tensor]:
        """Waveforms ``[N, L]`` -> the model's keyword inputs from its feature extractor."""
        wave = check_waveforms(wave, type(self).__name__, self.sample_rate)
        feats = run_feature_extractor(self.extractor, wave, self.sample_rate)
        return {k: v for k, v in feats.items() if k in self._input_names}

    def _real_steps(self, num_samples: int, steps: int) -> int:
        """Encoder steps covering the real audio when the extractor pads to a fixed length (Whisper)."""
        fe = self.extractor
        max_frames, hop = getattr(fe, 'nb_max_frames', None), getattr(fe, 'hop_length', None)
        if max_frames is None or hop is None:
            return steps
        samples = math.ceil(num_samples * fe.sampling_rate / self.sample_rate)
        frames = min(math.ceil(samples / hop), max_frames)
        return max(1, min(steps, math.ceil(frames * steps / max_frames)))

    def forward(self, wave: Tensor) -> Tensor:
        """``[N, L]`` waveforms at ``sample_rate`` -> ``[N, D]`` embeddings."""
        with torch.no_grad() if self.freeze else nullcontext():
            out = self.model(**self.model_inputs(wave))
            if self.pooling != 'mean':
                emb = getattr(out, self.pooling, None)
                if emb is None:
                    raise ValueError(f'{type(self).__name__}: {type(self.model).__name__} output has no '
                                     f'{self.pooling!r} (pooling); fields: {list(out.keys())}')
            else:
                hidden = out.last_hidden_state
                emb = hidden[:, :self._real_steps(wave.shape[1], hidden.shape[1])].mean(dim=1)
            return F.normalize(emb, dim=-1) if self.l2_normalize else emb

    def extra_repr(self) -> str:
        source = self.pretrained or 'random weights from config'
        return (f'source={source!r}, pooling={self.pooling!r}, l2_normalize={self.l2_normalize}, '
                f'freeze={self.freeze}')
