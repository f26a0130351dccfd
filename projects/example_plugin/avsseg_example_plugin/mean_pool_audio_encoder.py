"""An audio backbone registered from outside avsseg: statistics pooling of log-mel bands and an MLP."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

# Registering into avsseg's registry puts the class in the ``avsseg`` scope, where configs with
# ``default_scope='avsseg'`` find it by its bare name.
from avsseg.registry import MODELS


@MODELS.register_module()
class MeanPoolAudioEncoder(BaseModule):
    """Log-mel patch ``[N, 1, T, F]`` -> feature ``[N, out_channels]``.

    For every mel band the mean and the standard deviation over the T time frames are taken (``[N, 2F]``), and
    a two-layer MLP maps them to ``out_channels``. It ignores the temporal order inside the 0.96 s patch, so it
    is much weaker than VGGish; it is an example of a third-party part, small enough to train on a CPU.

    Args:
        num_mel_bins (int): F, the frequency size of the input (VGGish: 64).
        hidden_channels (int): width of the hidden layer.
        out_channels (int): output feature size (128 matches VGGish, so necks built for VGGish accept it).
        eps (float): added to the variance before the square root (keeps the gradient finite on silence).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 num_mel_bins: int = 64,
                 hidden_channels: int = 128,
                 out_channels: int = 128,
                 eps: float = 1e-5,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.num_mel_bins = num_mel_bins
        self.out_channels = out_channels
        self.eps = eps
        self.mlp = nn.Sequential(
            nn.Linear(2 * num_mel_bins, hidden_channels), nn.ReLU(inplace=True),
            nn.Linear(hidden_channels, out_channels))

    def forward(self, x: Tensor) -> Tensor:
        """``[N, 1, T, F]`` -> ``[N, out_channels]``."""
        if x.dim() != 4 or x.shape[1] != 1 or x.shape[3] != self.num_mel_bins or x.shape[2] < 1:
            raise ValueError(f'MeanPoolAudioEncoder expects [N, 1, T, {self.num_mel_bins}] log-mel patches, got '
                             f'{list(x.shape)}')
        x = x[:, 0]  # [N, T, F]
        mean = x.mean(dim=1)
        std = torch.sqrt(x.var(dim=1, unbiased=False) + self.eps)
        return self.mlp(torch.cat([mean, std], dim=1))
