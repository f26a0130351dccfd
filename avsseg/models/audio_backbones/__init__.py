from .fbank import KaldiFbank
from .log_mel_cnn import LogMelCNN
from .vggish import VGGish

__all__ = ['LogMelCNN', 'VGGish', 'KaldiFbank']
