"""VGGish audio embedding network (Hershey et al., "CNN Architectures for Large-Scale Audio Classification",
ICASSP 2017), laid out so the torchvggish port's weights (``vggish-10086976.pth``) load as they are."""
import os
import warnings
from typing import Dict, Optional

import numpy as np
import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from avsseg.registry import MODELS

EMBEDDING_SIZE = 128
QUANTIZE_MIN = -2.0
QUANTIZE_MAX = 2.0
PCA_KEYS = ('pca_eigen_vectors', 'pca_means')
# Names the PCA tensors have elsewhere: torchvggish's Postprocessor and AVSBench's copy of it.
_PCA_ALIASES = {
    'pca_eigen_vectors': ('pca_eigen_vectors', 'pproc.pca_eigen_vectors', 'pproc.pca_matrix', 'pca_matrix'),
    'pca_means': ('pca_means', 'pproc.pca_means'),
}


def _load_local(path: str, what: str) -> dict:
    """Loads a weights file safely (``weights_only=True``; ``.npz`` without pickle)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f'{what} must be a local file path, got {type(path).__name__}')
    path = os.fspath(path)
    if '://' in path:
        raise ValueError(f'{what} must be a local file path, not a URL ({path!r}); download the file and '
                         'pass its path (nothing is fetched at run time)')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{what} file not found: {path!r}')
    if path.endswith('.npz'):
        with np.load(path, allow_pickle=False) as npz:
            return {k: torch.from_numpy(npz[k]) for k in npz.files}
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:
        # torch's message suggests retrying with weights_only=False; only its reason line is kept.
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        reason = next((ln for ln in lines if 'Unsupported global' in ln), lines[0] if lines else repr(err))
        raise RuntimeError(
            f'cannot load {what} {path!r} with torch.load(weights_only=True) ({reason}); files holding '
            'pickled objects other than tensors and numpy arrays must first be converted with '
            'tools/model_converters/vggish2avsseg.py') from None
    if isinstance(obj, dict) and 'state_dict' in obj:
        obj = obj['state_dict']
    if not isinstance(obj, dict):
        raise ValueError(f'{what} {path!r} holds a {type(obj).__name__}, expected a state dict')
    return obj


@MODELS.register_module()
class VGGish(BaseModule):
    """VGGish: log-mel examples ``[N, 1, 96, 64]`` -> embeddings ``[N, 128]``.

    A VGG-A variant: 3x3 convs (padding 1) with ReLU, 2x2 max pools: conv64-pool, conv128-pool,
    conv256x2-pool, conv512x2-pool, giving ``[N, 512, 6, 4]`` (6 time x 4 frequency cells); then fully
    connected 12288 -> 4096 -> 4096 -> 128 with ReLUs. 72,141,184 parameters.

    Flatten order: the TensorFlow original is NHWC, so its first FC weight expects the features flattened
    as (time, frequency, channel). torchvggish keeps that by transposing ``[N, C, H, W]`` to ``[N, H, W, C]``
    (``transpose(1, 3)`` then ``transpose(1, 2)``) before flattening; this module does the same permutation,
    so index ``(h * 4 + w) * 512 + c`` of the flat vector is channel ``c`` of cell ``(h, w)``.

    Parameter names follow torchvggish: ``features.{0,3,6,8,11,13}`` are the convs and
    ``embeddings.{0,2,4}`` the FC layers, so ``vggish-10086976.pth`` (or its conversion by
    ``tools/model_converters/vggish2avsseg.py``) loads directly.

    Args:
        pretrained: local path of the weights (torchvggish ``.pth`` state dict, or an avsseg checkpoint
            ``{'state_dict': ...}`` from the converter). Never a URL. None leaves random weights.
        freeze: keep the network in eval mode (even when the parent model's ``train()`` is called), turn off
            its gradients and run it under ``torch.no_grad()``, as AVSBench does
            (``FREEZE_AUDIO_EXTRACTOR=True``).
        final_relu: apply a ReLU after the 128-d layer, as torchvggish (and the AVS code built on it) does,
            giving non-negative embeddings. False gives the pre-activation output of the current TF graph.
        pca: apply VGGish's post-processor: PCA (with whitening) ``E @ (x - mu)``, clip to [-2, 2] and 8-bit
            quantisation. The output is then float values in {0, 1, ..., 255} (the released AudioSet
            features), about 100x the scale of the raw embedding: normalise before a Linear layer if needed.
        pca_params: local file with ``pca_eigen_vectors`` [128, 128] and ``pca_means`` [128] (or [128, 1]):
            a ``.npz`` (the TF release's ``vggish_pca_params.npz``) or a tensor checkpoint (the converter's
            output). If None with ``pca=True``, the PCA tensors must be in ``pretrained``.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 pretrained: Optional[str] = None,
                 freeze: bool = True,
                 final_relu: bool = True,
                 pca: bool = False,
                 pca_params: Optional[str] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if pca_params is not None and not pca:
            raise ValueError('pca_params is given but pca=False; set pca=True to use it')
        self.pretrained = pretrained
        self.freeze = freeze
        self.final_relu = final_relu
        self.pca = pca
        self.pca_params = pca_params

        # With pretrained weights every parameter and buffer is overwritten by the file, so the layers are
        # built on the meta device (no random init of 72M values) and materialised empty before loading.
        with torch.device('meta' if pretrained is not None else 'cpu'):
            self._build_layers(final_relu, pca)
        if pretrained is not None:
            self.to_empty(device='cpu')

        self._load_weights()
        if pretrained is None and freeze:
            warnings.warn('VGGish is frozen but has no pretrained weights: its embeddings are random '
                          'features. Pass pretrained=<local vggish .pth>, or use LogMelCNN for training from '
                          'scratch.')
        if freeze:
            for param in self.parameters():
                param.requires_grad_(False)
            self.train(False)

    def _build_layers(self, final_relu: bool, pca: bool) -> None:
        layers = []
        in_channels = 1
        for spec in (64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M'):
            if spec == 'M':
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(in_channels, spec, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                in_channels = spec
        self.features = nn.Sequential(*layers)
        head = [
            nn.Linear(512 * 6 * 4, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, EMBEDDING_SIZE)
        ]
        if final_relu:
            head.append(nn.ReLU(inplace=True))
        self.embeddings = nn.Sequential(*head)

        if pca:
            self.register_buffer('pca_eigen_vectors', torch.zeros(EMBEDDING_SIZE, EMBEDDING_SIZE))
            self.register_buffer('pca_means', torch.zeros(EMBEDDING_SIZE))

    # ------------------------------------------------------------------ weights
    def _load_weights(self) -> None:
        pca_tensors: Dict[str, Tensor] = {}
        if self.pretrained is not None:
            state = _load_local(self.pretrained, 'VGGish pretrained weights')
            pca_tensors = self._pick_pca(state)
            backbone = {
                k: torch.as_tensor(v)
                for k, v in state.items() if k.startswith(('features.', 'embeddings.'))
            }
            missing, unexpected = self._backbone_keys_mismatch(backbone)
            if missing or unexpected:
                raise KeyError(f'{self.pretrained!r} does not match VGGish: missing keys {missing}, '
                               f'unexpected keys {unexpected}')
            try:
                self.load_state_dict(backbone, strict=False)
            except RuntimeError as err:
                raise RuntimeError(f'cannot load VGGish weights from {self.pretrained!r}: {err}') from err
        if not self.pca:
            return
        if self.pca_params is not None:
            pca_tensors = self._pick_pca(_load_local(self.pca_params, 'VGGish PCA parameters'))
            source = self.pca_params
        else:
            source = self.pretrained
        if len(pca_tensors) != 2:
            raise ValueError('VGGish(pca=True) needs the PCA parameters: pass '
                             'pca_params=<vggish_pca_params.npz or converted file>, or a pretrained '
                             'checkpoint converted with --pca '
                             f'({source!r} has {sorted(pca_tensors) or "none"} of {list(PCA_KEYS)})')
        eigen = pca_tensors['pca_eigen_vectors'].to(torch.float32)
        means = pca_tensors['pca_means'].to(torch.float32).reshape(-1)
        if eigen.shape != (EMBEDDING_SIZE, EMBEDDING_SIZE) or means.shape != (EMBEDDING_SIZE, ):
            raise ValueError(f'{source!r}: pca_eigen_vectors must be [128, 128] and pca_means [128] (or '
                             f'[128, 1]), got {list(eigen.shape)} and {list(pca_tensors["pca_means"].shape)}')
        if not (torch.isfinite(eigen).all() and torch.isfinite(means).all()):
            raise ValueError(f'{source!r}: the PCA parameters contain NaN/inf')
        self.pca_eigen_vectors.copy_(eigen)
        self.pca_means.copy_(means)

    @staticmethod
    def _pick_pca(state: dict) -> Dict[str, Tensor]:
        out = {}
        for key, aliases in _PCA_ALIASES.items():
            for alias in aliases:
                # numpy arrays appear when a torchvggish PCA .pth is loaded directly (avsseg allowlists numpy
                # array reconstruction for weights_only loads, see avsseg.utils.checkpoint_compat).
                if isinstance(state.get(alias), (Tensor, np.ndarray)):
                    out[key] = torch.as_tensor(state[alias])
                    break
        return out

    def _backbone_keys_mismatch(self, state: dict):
        expected = {k for k in self.state_dict() if k.startswith(('features.', 'embeddings.'))}
        return sorted(expected - set(state)), sorted(set(state) - expected)

    def init_weights(self) -> None:
        super().init_weights()
        # A parent's init_cfg (e.g. Kaiming on every Conv2d of the segmentor) re-initialises these layers
        # before this runs, so the pretrained weights are loaded again afterwards.
        if self.pretrained is not None:
            with torch.no_grad():
                self._load_weights()

    # ------------------------------------------------------------------ forward
    def train(self, mode: bool = True):
        super().train(mode and not self.freeze)
        return self

    def postprocess(self, embeddings: Tensor) -> Tensor:
        """VGGish's post-processor: ``[N, 128]`` raw embeddings -> ``[N, 128]`` floats in {0, ..., 255}.

        ``round((clip(E @ (x - mu), -2, 2) + 2) * 255 / 4)`` with ``E = pca_eigen_vectors``,
        ``mu = pca_means``.
        """
        if not self.pca:
            raise RuntimeError('VGGish was built with pca=False: it has no PCA parameters')
        projected = (embeddings - self.pca_means) @ self.pca_eigen_vectors.t()
        clipped = projected.clamp(QUANTIZE_MIN, QUANTIZE_MAX)
        return torch.round((clipped - QUANTIZE_MIN) * (255.0 / (QUANTIZE_MAX - QUANTIZE_MIN)))

    def _embed(self, x: Tensor) -> Tensor:
        feats = self.features(x)  # [N, 512, 6, 4]
        flat = feats.permute(0, 2, 3, 1).flatten(1)  # TF/torchvggish (time, freq, channel) order
        out = self.embeddings(flat)
        return self.postprocess(out) if self.pca else out

    def forward(self, x: Tensor) -> Tensor:
        """``[N, 1, 96, 64]`` log-mel examples -> ``[N, 128]``."""
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 96, 64):
            raise ValueError(f'VGGish expects log-mel examples [N, 1, 96, 64], got {list(x.shape)}')
        if self.freeze:
            with torch.no_grad():
                return self._embed(x)
        return self._embed(x)
