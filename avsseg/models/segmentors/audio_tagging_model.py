"""Training a small audio tagger on AVS clips: each labelled frame's 1 s of audio -> the classes in its mask."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from torch import Tensor

from avsseg.registry import MODELS
from avsseg.structures import frame_flags

#: Power used for a silent window when white noise is mixed in (RMS 0.1, as ``mix_at_snr``'s
#: ``SILENT_REFERENCE_POWER``, so training noise and ``tools/test.py --audio-perturb noise`` agree).
SILENT_REFERENCE_POWER = 0.01


@MODELS.register_module()
class AudioTaggingModel(BaseModel):
    """Multi-label audio tagging of AVS frames, to train a stand-in AudioSet tagger on synthetic data.

    Not part of BAVS (which uses an off-the-shelf BEATs, never trained): it trains the ``audio_backbone``
    (:class:`~avsseg.models.audio_backbones.LogMelTagger`) that plays BEATs in the tiny synthetic smoke test
    (bavs.md §6.5 "stage 0"); the checkpoint's ``audio_backbone.*`` weights then go into the stage-2 checkpoint
    (``tools/model_converters/compose_two_stage.py``).

    Input: the batches of the AVS pipelines (``LoadClipWaveform`` audio ``[B*T, 16000]``, the frames' semantic
    ground truth; the frames themselves are not read). Target of a labelled, real frame: the multi-hot over the
    tags of the classes present in its mask (dataset class ``c`` in ``1..K`` -> tag ``class_to_tag[c - 1]``), so
    a silent frame (all background) has no tag. With ``noise_prob > 0`` a share of the training windows gets
    Gaussian white noise at an SNR drawn from ``snr_range`` (relative to the window's mean power; a silent window
    uses RMS 0.1, as ``mix_at_snr``) and the ``noise_tag`` as an extra positive: the tag of a non-visual
    "ambient" node of the tree, which BAVS's integration ignores. With ``silence_prob > 0`` a share of the windows
    is first replaced by digital silence (zeros) with no tag: the synthetic "silent" clips are quiet but not zero,
    and a tagger that never saw zeros tagged them at random (``--audio-perturb silence`` feeds zeros).

    Loss: ``F.binary_cross_entropy_with_logits`` averaged over frames and tags (``loss_tag``).

    Args:
        audio_backbone: the tagger config; must provide ``logits(wave [N, L]) -> [N, num_labels]`` and
            ``num_labels``.
        num_classes: K, the dataset's object classes (background 0 excluded).
        class_to_tag: tag column of each class ``1..K`` (default ``0..K-1``: the tags listed in class order).
        noise_tag: tag column of white noise (required when ``noise_prob > 0``).
        noise_prob: share of training windows mixed with white noise.
        snr_range: ``(low, high)`` SNR in dB of that noise.
        silence_prob: share of training windows replaced by zeros with an all-zero target.
        ignore_index: label of ignored pixels.
        data_preprocessor: ``AVSDataPreprocessor`` config.
    """

    def __init__(self,
                 audio_backbone: dict,
                 num_classes: int,
                 class_to_tag: Optional[Sequence[int]] = None,
                 noise_tag: Optional[int] = None,
                 noise_prob: float = 0.0,
                 snr_range: Tuple[float, float] = (-5.0, 10.0),
                 silence_prob: float = 0.0,
                 ignore_index: int = 255,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.audio_backbone = MODELS.build(audio_backbone)
        num_labels = int(self.audio_backbone.num_labels)
        self.num_classes = int(num_classes)
        class_to_tag = list(range(self.num_classes)) if class_to_tag is None else [int(t) for t in class_to_tag]
        if len(class_to_tag) != self.num_classes:
            raise ValueError(f'AudioTaggingModel: class_to_tag has {len(class_to_tag)} entries for num_classes='
                             f'{self.num_classes}')
        bad = [t for t in class_to_tag + ([noise_tag] if noise_tag is not None else []) if not 0 <= t < num_labels]
        if bad:
            raise ValueError(f'AudioTaggingModel: tag columns {bad} outside the tagger\'s 0..{num_labels - 1}')
        if noise_prob > 0 and noise_tag is None:
            raise ValueError('AudioTaggingModel: noise_prob > 0 needs noise_tag (the column of the noise tag)')
        if not 0.0 <= silence_prob <= 1.0:
            raise ValueError(f'AudioTaggingModel: silence_prob {silence_prob} must be in [0, 1]')
        if not 0.0 <= noise_prob <= 1.0 or snr_range[0] > snr_range[1]:
            raise ValueError(f'AudioTaggingModel: noise_prob {noise_prob} must be in [0, 1] and snr_range '
                             f'{snr_range} ordered (low, high)')
        self.register_buffer('class_to_tag', torch.tensor(class_to_tag, dtype=torch.long), persistent=False)
        self.noise_tag = noise_tag
        self.noise_prob = float(noise_prob)
        self.snr_range = (float(snr_range[0]), float(snr_range[1]))
        self.silence_prob = float(silence_prob)
        self.ignore_index = ignore_index

    # ---------------------------------------------------------------- targets
    def targets(self, data_samples: Sequence) -> Tensor:
        """Multi-hot ``[N, num_labels]`` of the classes in each frame's ground truth."""
        num_labels = self.audio_backbone.num_labels
        rows = []
        for sample in data_samples:
            gt = sample.gt_sem_seg.data.reshape(-1).long()
            present = torch.unique(gt[(gt != self.ignore_index) & (gt != 0)])
            if present.numel() and (present.min() < 1 or present.max() > self.num_classes):
                raise ValueError(f'AudioTaggingModel: ground truth of {sample.metainfo.get("img_path", "a frame")} '
                                 f'has labels {present.tolist()} outside 0..{self.num_classes} (semantic class '
                                 'indices needed; binary masks need ClipCategoryToLabel first)')
            row = torch.zeros(num_labels)
            row[self.class_to_tag.cpu()[present.cpu() - 1]] = 1.0
            rows.append(row)
        return torch.stack(rows)

    def silence(self, wave: Tensor, target: Tensor) -> Tuple[Tensor, Tensor]:
        """Zeros (and no tag) in a random ``silence_prob`` share of the rows of ``wave [N, L]``."""
        chosen = torch.rand(wave.shape[0], device=wave.device) < self.silence_prob
        if not chosen.any():
            return wave, target
        return (wave.masked_fill(chosen[:, None], 0.0), target.masked_fill(chosen[:, None].to(target.device), 0.0))

    def add_noise(self, wave: Tensor, target: Tensor) -> Tuple[Tensor, Tensor]:
        """White noise into a random ``noise_prob`` share of the rows of ``wave [N, L]``; their noise tag set."""
        chosen = torch.rand(wave.shape[0], device=wave.device) < self.noise_prob
        if not chosen.any():
            return wave, target
        power = wave.pow(2).mean(dim=1)
        power = torch.where(power > 0, power, power.new_full((), SILENT_REFERENCE_POWER))
        low, high = self.snr_range
        snr = torch.empty_like(power).uniform_(low, high)
        gain = torch.sqrt(power / 10.0**(snr / 10.0))  # unit-variance noise has power 1
        noise = torch.randn_like(wave) * gain[:, None]
        wave = torch.where(chosen[:, None], wave + noise, wave)
        target = target.clone()
        target[chosen.to(target.device), self.noise_tag] = 1.0
        return wave, target

    # ---------------------------------------------------------------- modes
    def forward(self, inputs: Dict[str, Tensor], data_samples: Optional[List] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.audio_backbone.logits(inputs['audio'])
        raise RuntimeError(f'AudioTaggingModel: invalid mode {mode!r}; use loss, predict or tensor')

    def loss(self, inputs: Dict[str, Tensor], data_samples: List) -> Dict[str, Tensor]:
        """``loss_tag``: BCE over the labelled, real frames of the batch."""
        wave = inputs['audio']
        if wave.dim() != 2:
            raise ValueError(f'AudioTaggingModel: audio must be waveform windows [B*T, samples] (LoadClipWaveform), '
                             f'got {list(wave.shape)}')
        keep = frame_flags(data_samples, 'is_labeled', wave.device) & ~frame_flags(data_samples, 'is_padded',
                                                                                   wave.device)
        if not keep.any():
            raise ValueError('AudioTaggingModel: no labelled real frame in the batch')
        index = keep.nonzero(as_tuple=True)[0]
        wave = wave[index]
        target = self.targets([data_samples[i] for i in index.tolist()]).to(wave.device)
        if self.silence_prob > 0:
            wave, target = self.silence(wave, target)
        if self.noise_prob > 0:
            wave, target = self.add_noise(wave, target)
        logits = self.audio_backbone.logits(wave)
        return dict(loss_tag=F.binary_cross_entropy_with_logits(logits, target))

    def predict(self, inputs: Dict[str, Tensor], data_samples: Optional[List] = None) -> List[BaseDataElement]:
        """Per frame, the data sample (or a new element) with ``pred_tag_probs`` ``[num_labels]``."""
        probs = self.audio_backbone.logits(inputs['audio']).sigmoid()
        samples: List[Union[BaseDataElement]] = list(data_samples) if data_samples else [
            BaseDataElement() for _ in range(probs.shape[0])]
        for sample, row in zip(samples, probs):
            sample.set_field(row, 'pred_tag_probs')
        return samples
