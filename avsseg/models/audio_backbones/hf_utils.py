"""Shared pieces of the transformers audio wrappers (:class:`HFAudioTagger`, :class:`HFAudioEncoder`): building a
model from a local folder or a config dict, its feature extractor, freezing, and waveform checks."""
import os
import os.path as osp
from typing import Any, Dict, Optional

import numpy as np
import torchaudio.functional as ta_F
from torch import Tensor, nn

#: Where the docs say which files go where.
DOCS = 'docs/audio_taggers.md'


def check_local_dir(path: Any, what: str) -> str:
    """``path`` as a string after checking it names an existing local transformers folder (with ``config.json``).

    Raises:
        TypeError / ValueError: not a path, or a URL or hub id (nothing is downloaded).
        FileNotFoundError: the folder or its ``config.json`` is missing; the message names them.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f'{what}: pretrained must be a local folder path, got {type(path).__name__}')
    path = os.fspath(path)
    if '://' in path:
        raise ValueError(f'{what}: pretrained must be a local folder, not a URL ({path!r}); nothing is downloaded at '
                         f'run time (see {DOCS})')
    if not osp.isdir(path):
        raise FileNotFoundError(f'{what}: pretrained folder not found: {path!r}; save the model there with '
                                f'save_pretrained (config.json, weights, preprocessor_config.json; see {DOCS})')
    if not osp.isfile(osp.join(path, 'config.json')):
        raise FileNotFoundError(f'{what}: pretrained folder {path!r} has no config.json, so it is not a transformers '
                                f'model folder (see {DOCS})')
    return path


def resolve_hf_class(name: str, what: str):
    """The transformers class called ``name`` (``'ASTForAudioClassification'``, ``'AutoModel'``, ...)."""
    import transformers
    cls = getattr(transformers, name, None)
    if cls is None:
        raise ValueError(f'{what}: transformers {transformers.__version__} has no class {name!r}')
    return cls


def build_hf_model(hf_class: str,
                   what: str,
                   pretrained: Optional[str] = None,
                   config: Optional[Dict] = None,
                   model_type: Optional[str] = None) -> nn.Module:
    """A transformers model from a local folder (``pretrained``) or with random weights from ``config``.

    Args:
        hf_class: transformers class name; an ``Auto*`` class needs ``model_type`` when built from ``config``.
        what: the caller's name, for messages.
        pretrained: local folder written by ``save_pretrained`` (loaded with ``local_files_only=True``).
        config: config fields (``ASTConfig(**config)`` etc.). With ``pretrained`` too, every given field must equal
            the folder's (so a config can record the architecture it expects and be checked against the files).
        model_type: transformers model type of ``config`` for ``Auto*`` classes (``'audio-spectrogram-transformer'``,
            ``'wav2vec2'``, ``'hubert'``, ``'whisper'``, ...).

    Returns:
        the model (in train mode, as transformers returns it).
    """
    cls = resolve_hf_class(hf_class, what)
    if pretrained is not None:
        path = check_local_dir(pretrained, what)
        model = cls.from_pretrained(path, local_files_only=True)
        if config:
            differ = {k: (v, getattr(model.config, k, '<absent>'))
                      for k, v in config.items() if getattr(model.config, k, '<absent>') != v}
            if differ:
                raise ValueError(f'{what}: the config fields {sorted(differ)} differ from {path}/config.json '
                                 f'(given, in the folder): {differ}')
        return model
    if config is None:
        raise ValueError(f'{what} needs pretrained (a local transformers folder) or config (a dict of config fields '
                         'for random weights); tools/test.py drops a missing pretrained folder, so a config meant '
                         'to run without the folder must also give config=')
    config = dict(config)
    if hf_class.startswith('Auto'):
        if model_type is None:
            raise ValueError(f'{what}: building {hf_class} from config needs model_type (e.g. '
                             "'audio-spectrogram-transformer', 'wav2vec2', 'whisper')")
        from transformers import AutoConfig
        return cls.from_config(AutoConfig.for_model(model_type, **config))
    return cls(cls.config_class(**config))


def build_feature_extractor(what: str,
                            pretrained: Optional[str] = None,
                            feature_extractor: Optional[Dict] = None):
    """The transformers feature extractor of a local folder, or one built from ``dict(type=ClassName, **kwargs)``.

    ``feature_extractor`` wins over the folder's ``preprocessor_config.json``. Returns None when neither exists.
    """
    if feature_extractor is not None:
        kwargs = dict(feature_extractor)
        name = kwargs.pop('type', None)
        if name is None:
            raise ValueError(f'{what}: feature_extractor needs a type (a transformers feature extractor class name, '
                             f"e.g. 'ASTFeatureExtractor'), got {feature_extractor!r}")
        return resolve_hf_class(name, what)(**kwargs)
    if pretrained is not None and osp.isfile(osp.join(pretrained, 'preprocessor_config.json')):
        from transformers import AutoFeatureExtractor
        return AutoFeatureExtractor.from_pretrained(pretrained, local_files_only=True)
    return None


def run_feature_extractor(extractor, wave: Tensor, sample_rate: int, **kwargs) -> Dict[str, Tensor]:
    """Waveforms ``[N, L]`` at ``sample_rate`` -> the extractor's model inputs (tensors on ``wave``'s device).

    Resamples to the extractor's ``sampling_rate`` first (torchaudio's sinc resampler). The extractor runs on the
    CPU in numpy, as transformers' pipelines run it, so the result is exactly what the model was trained on.
    """
    target = int(extractor.sampling_rate)
    if target != sample_rate:
        wave = ta_F.resample(wave, sample_rate, target)
    rows = list(wave.detach().float().cpu().numpy().astype(np.float32))
    feats = extractor(rows, sampling_rate=target, return_tensors='pt', **kwargs)
    return {k: v.to(wave.device) for k, v in feats.items() if isinstance(v, Tensor)}


def check_waveforms(wave: Tensor, what: str, sample_rate: int) -> Tensor:
    """``wave`` as float ``[N, L]`` after checking its shape (VGGish log-mel ``[N, 1, 96, 64]`` is refused)."""
    if wave.dim() != 2 or not wave.is_floating_point():
        raise ValueError(f'{what} takes float waveforms [N, L] at {sample_rate} Hz (LoadClipWaveform gives '
                         f'[T, 16000] per clip), got {wave.dtype} {list(wave.shape)}; a [N, 1, 96, 64] input is '
                         'VGGish log-mel from LoadClipAudio, which this backbone cannot use')
    return wave.float()


def freeze_module(module: nn.Module) -> None:
    """Turn off the gradients of ``module`` and put it in eval mode."""
    module.eval()
    for param in module.parameters():
        param.requires_grad_(False)


def first_linear_in_features(module: nn.Module) -> Optional[int]:
    """Input size of the first ``nn.Linear`` in ``module`` (a classification head), None without one."""
    for sub in module.modules():
        if isinstance(sub, nn.Linear):
            return sub.in_features
    return None
