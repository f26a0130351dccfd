from .beats import BEATs
from .fbank import KaldiFbank
from .hf_audio_encoder import HFAudioEncoder
from .hf_audio_tagger import HFAudioTagger
from .log_mel_cnn import LogMelCNN
from .log_mel_tagger import LogMelTagger
from .vggish import VGGish

__all__ = ['LogMelCNN', 'VGGish', 'KaldiFbank', 'HFAudioTagger', 'HFAudioEncoder', 'BEATs', 'LogMelTagger']
