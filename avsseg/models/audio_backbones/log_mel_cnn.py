"""A small trainable CNN on VGGish log-mel examples, for runs without pretrained VGGish weights."""
from typing import Sequence

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from avsseg.registry import MODELS


@MODELS.register_module()
class LogMelCNN(BaseModule):
    """Small log-mel CNN: ``[N, 1, 96, 64]`` (any ``[N, C, H, W]``) -> ``[N, out_channels]``.

    Not from a paper: it exists for the CPU quickstart and tests on synthetic data, where no pretrained
    VGGish is available (a frozen random VGGish would give random features) and a 72M-parameter network
    would be slow to train. Each stage is conv3x3-BN-ReLU followed by 2x2 max pooling; then global average
    pooling over time and frequency and a linear layer. It takes the same input as :class:`VGGish`, so a
    config switches between them by changing only ``audio_backbone``.

    Args:
        in_channels: input channels (1 for log-mel).
        channels: output channels of the stages; each stage halves time and frequency.
        out_channels: size of the output feature (128 matches VGGish).
        norm_cfg: norm layer config of the convs.
        act_cfg: activation config of the convs.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 in_channels: int = 1,
                 channels: Sequence[int] = (16, 32, 64),
                 out_channels: int = 128,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if len(channels) == 0:
            raise ValueError('LogMelCNN needs at least one stage in channels')
        self.in_channels = in_channels
        self.channels = tuple(channels)
        self.out_channels = out_channels
        stages = []
        prev = in_channels
        for ch in self.channels:
            stages.append(
                nn.Sequential(
                    ConvModule(prev, ch, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
                    nn.MaxPool2d(kernel_size=2, stride=2)))
            prev = ch
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(prev, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        """``[N, C, H, W]`` log-mel -> ``[N, out_channels]``."""
        min_size = 2**len(self.channels)
        if x.dim() != 4 or x.shape[1] != self.in_channels or min(x.shape[2:]) < min_size:
            raise ValueError(f'LogMelCNN expects [N, {self.in_channels}, H, W] with H, W >= {min_size}, got '
                             f'{list(x.shape)}')
        return self.fc(self.pool(self.stages(x)).flatten(1))
