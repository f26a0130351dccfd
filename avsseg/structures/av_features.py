"""The feature bundle that flows from the segmentor through the neck into the heads."""
from typing import Any, Dict, Iterable, Optional

from torch import Tensor

_FIELDS = ('audio', 'num_frames', 'frame_mask', 'extras')


class AVFeatures(tuple):
    """Multi-level visual features of ``N = B*T`` frames, with the audio and the clip structure attached.

    The bundle *is* the tuple of visual levels (``feats[i]`` is ``[N, C_i, H_i, W_i]``, finest first), so a stock
    mmseg decode head, which indexes its ``inputs``, takes it unchanged after an audio-visual fusion neck. The rest
    rides along as attributes:

    - ``audio``: per-frame audio features ``[N, D]`` (padded frames zeroed by the segmentor), or None;
    - ``num_frames``: clip length ``T`` (frame ``t`` of clip ``b`` is row ``b*T + t``);
    - ``frame_mask``: ``[N]`` float, 1 for real frames and 0 for padded ones, or None when no frame is padded;
    - ``extras``: a dict for whatever else a part produces for a later one (TPAVI's per-stage projected audio
      ``'tpavi_audio'``, an audio tagger's class scores, priors).

    Bundles are immutable: necks return ``feats.replace(visual=..., audio=..., extras=...)``.
    """

    def __new__(cls,
                visual: Iterable[Tensor],
                audio: Optional[Tensor] = None,
                num_frames: Optional[int] = None,
                frame_mask: Optional[Tensor] = None,
                extras: Optional[Dict[str, Any]] = None) -> 'AVFeatures':
        self = super().__new__(cls, tuple(visual))
        self.audio = audio
        self.num_frames = num_frames
        self.frame_mask = frame_mask
        self.extras = dict(extras) if extras else {}
        return self

    @property
    def visual(self) -> tuple:
        """The visual levels as a plain tuple."""
        return tuple(self)

    def replace(self, **changes) -> 'AVFeatures':
        """A new bundle with ``visual`` / ``audio`` / ``num_frames`` / ``frame_mask`` / ``extras`` replaced."""
        unknown = set(changes) - set(_FIELDS) - {'visual'}
        if unknown:
            raise TypeError(f'AVFeatures.replace: unknown field(s) {sorted(unknown)}')
        fields = {name: getattr(self, name) for name in _FIELDS}
        fields.update(changes)
        return AVFeatures(changes.get('visual', self.visual), **{k: fields[k] for k in _FIELDS})

    def __reduce__(self):
        return AVFeatures, (self.visual, self.audio, self.num_frames, self.frame_mask, self.extras)

    def __repr__(self) -> str:
        shapes = [tuple(v.shape) for v in self]
        audio = None if self.audio is None else tuple(self.audio.shape)
        return (f'AVFeatures(visual={shapes}, audio={audio}, num_frames={self.num_frames}, '
                f'padded={self.frame_mask is not None}, extras={sorted(self.extras)})')
