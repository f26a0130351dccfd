"""The test-time audio-perturbation protocol for any clip dataset, as a dataset wrapper."""
import copy
import logging
import math
import os.path as osp
import zlib
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.dataset.base_dataset import force_full_init
from mmengine.logging import print_log

from avsseg.registry import DATASETS
from ..audio import AUDIO_PERTURBATIONS, DEFAULT_PERTURBATION_SNR_DB, WAVEFORM_PERTURBATIONS, load_audio, to_mono_16k
from ..transforms.clip_audio_perturbation import ClipAudioPerturbation
from ..transforms.loading import LoadClipAudio

#: Keys the wrapped dataset's data infos must have.
REQUIRED_INFO_KEYS = ('clip_id', 'audio_path')


def clip_seed(seed: int, clip_id: str) -> int:
    """A per-clip random seed that depends only on the global seed and the clip id (not on the order)."""
    return zlib.crc32(f'{int(seed)}:{clip_id}'.encode('utf-8'))


def category_derangement(categories: Sequence[Optional[str]], seed: int) -> List[int]:
    """A seeded permutation without fixed points that pairs clips of different categories where possible.

    Clips are grouped by category (groups shuffled inside), the largest group is put first, and clip at
    position ``k`` of that order gets the partner at position ``k + m`` (mod n), ``m`` the largest group's
    size. Because every group is contiguous and no larger than ``m``, partners are always of different
    categories when ``m <= n / 2``; otherwise exactly ``2 (n - m)`` pairs cross categories, the most possible.
    With a single category (or none) the shift is 1 over a shuffled order.

    Args:
        categories: category of each clip (``None`` when the subset has none).
        seed: random seed.

    Returns:
        list: ``partner[i]`` is the index of the clip whose audio clip ``i`` receives; ``partner[i] != i``.
    """
    n = len(categories)
    if n < 2:
        raise ValueError(f'a swapped/off-screen audio partner needs at least 2 clips, the dataset has {n}')
    rng = np.random.default_rng(seed)
    groups: Dict[str, List[int]] = {}
    for i, cat in enumerate(categories):
        groups.setdefault('' if cat is None else str(cat), []).append(i)
    names = sorted(groups)
    names = [names[j] for j in rng.permutation(len(names))]
    for name in names:
        groups[name] = [groups[name][j] for j in rng.permutation(len(groups[name]))]
    names.sort(key=lambda name: -len(groups[name]))  # stable: ties keep the shuffled order
    order = [i for name in names for i in groups[name]]
    largest = len(groups[names[0]])
    shift = largest if largest < n else 1
    partner = [0] * n
    for k, i in enumerate(order):
        partner[i] = order[(k + shift) % n]
    return partner


@DATASETS.register_module()
class AudioPerturbedDataset:
    """A clip dataset evaluated with changed audio: the audio-sensitivity protocols of BAVS (Table III) and of
    the mutual-semantics paper (Table 6).

    Wraps any mmengine ``BaseDataset`` of clips (AVSBench S4 / MS3 / AVSS, synthetic sets, future readers)
    whose data infos carry ``clip_id`` and ``audio_path`` and whose pipeline loads audio with
    :class:`LoadClipAudio`. When it is fully initialised it gives every clip its perturbation, reproducibly from
    ``seed``; :meth:`get_data_info` adds it to the clip's data info as ``audio_perturbation=dict(type,
    seed=<per-clip seed>[, snr_db][, other_audio_path, other_clip_id])`` (``PackAVSInputs`` copies it into the
    frames' metainfo, where the metrics read and print it), and :meth:`__getitem__` applies it with
    :class:`ClipAudioPerturbation` before the wrapped dataset's own pipeline runs, so no pipeline needs editing.

    - ``'silence'``: the audio is replaced by silence (any audio format);
    - ``'swap'``: each clip gets another clip's audio, the "unmatching audio" case; partners form a seeded
      derangement (:func:`category_derangement`: never the clip itself, another category whenever the data
      infos' ``category`` allows);
    - ``'noise'``: white noise mixed in at ``snr_db`` (seeded per clip; needs waveform audio);
    - ``'offscreen'``: an off-screen sound mixed in at ``snr_db``: another clip's (the ``swap`` partner), or the
      one fixed recording ``offscreen_audio`` for every clip (BAVS used one "electrical clipper" clip).

    Args:
        dataset: the clip dataset, or its config.
        perturbation: ``dict(type, seed=0, snr_db=0.0, offscreen_audio=None)``; ``snr_db`` only for ``'noise'``
            and ``'offscreen'`` (default :data:`DEFAULT_PERTURBATION_SNR_DB`), ``offscreen_audio`` (a waveform
            file, checked by decoding it) only for ``'offscreen'``.
        lazy_init: defer reading the wrapped dataset's list and choosing partners to :meth:`full_init`, as
            mmengine's ``ConcatDataset`` / ``RepeatDataset`` do (the Runner calls it when it builds the loader).
    """

    def __init__(self, dataset: Union[BaseDataset, dict], perturbation: dict, lazy_init: bool = False):
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        if not isinstance(dataset, BaseDataset):
            raise TypeError(f'AudioPerturbedDataset: dataset must be an mmengine BaseDataset (or its config) with a '
                            f'pipeline, got {type(dataset).__name__}; to perturb a ConcatDataset/RepeatDataset, wrap '
                            'each dataset inside it')
        self.dataset = dataset
        self.perturbation = self._check_perturbation(perturbation)
        self.transform = ClipAudioPerturbation()
        self._metainfo = self.dataset.metainfo
        self._clip_perturbations: List[dict] = []
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @staticmethod
    def _check_perturbation(cfg: dict) -> dict:
        """The validated perturbation: ``dict(type, seed[, snr_db][, offscreen_audio])``."""
        name = 'AudioPerturbedDataset'
        if not isinstance(cfg, dict) or cfg.get('type') not in AUDIO_PERTURBATIONS:
            raise ValueError(f'{name}: perturbation must be a dict with type in {AUDIO_PERTURBATIONS}, got {cfg!r}')
        kind = cfg['type']
        unknown = set(cfg) - {'type', 'seed', 'snr_db', 'offscreen_audio'}
        if unknown:
            raise ValueError(f'{name}: unknown perturbation keys {sorted(unknown)} (known: type, seed, snr_db, '
                             'offscreen_audio)')
        out = dict(type=kind, seed=int(cfg.get('seed', 0)))
        if kind in WAVEFORM_PERTURBATIONS:
            out['snr_db'] = float(cfg.get('snr_db', DEFAULT_PERTURBATION_SNR_DB))
            if not math.isfinite(out['snr_db']):
                raise ValueError(f'{name}: perturbation.snr_db must be finite, got {cfg["snr_db"]!r}')
        elif cfg.get('snr_db') is not None:
            raise ValueError(f'{name}: perturbation.snr_db applies to {WAVEFORM_PERTURBATIONS}, not {kind!r}')
        path = cfg.get('offscreen_audio')
        if path is not None:
            if kind != 'offscreen':
                raise ValueError(f'{name}: perturbation.offscreen_audio (a fixed off-screen sound) only applies to '
                                 f'type="offscreen", not {kind!r}')
            out['offscreen_audio'] = AudioPerturbedDataset._check_offscreen_audio(str(path))
        return out

    @staticmethod
    def _check_offscreen_audio(path: str) -> str:
        """Decodes the fixed off-screen sound once, so a bad file fails here, named, rather than per clip."""
        what = 'AudioPerturbedDataset: off-screen sound perturbation.offscreen_audio'
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} not found: {path}')
        if path.lower().endswith('.pkl'):
            raise ValueError(f'{what} must be a waveform file (it is mixed into each clip before the log-mel), '
                             f'got the log-mel {path}')
        try:
            wave = to_mono_16k(*load_audio(path))
        except (OSError, RuntimeError, ValueError) as err:
            raise ValueError(f'{what} cannot be read: {path}: {err}') from err
        if not np.isfinite(wave).all() or not np.any(wave):
            raise ValueError(f'{what} {path} is silent or not finite: it cannot be mixed in at an SNR')
        return path

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's meta information (a copy)."""
        return copy.deepcopy(self._metainfo)

    def full_init(self) -> None:
        """Fully initialises the wrapped dataset, checks its clips and pipeline, and chooses every clip's
        perturbation."""
        if self._fully_initialized:
            return
        self.dataset.full_init()
        name = f'AudioPerturbedDataset({type(self.dataset).__name__})'
        transforms = getattr(self.dataset.pipeline, 'transforms', [])
        if not any(isinstance(t, LoadClipAudio) for t in transforms):
            raise ValueError(f'{name}: the wrapped pipeline has no LoadClipAudio, which turns the perturbed audio '
                             f'into log-mel; pipeline: {[type(t).__name__ for t in transforms]}')
        infos = [self.dataset.get_data_info(i) for i in range(len(self.dataset))]
        for idx, info in enumerate(infos):
            missing = [k for k in REQUIRED_INFO_KEYS if info.get(k) is None]
            if missing:
                raise KeyError(f'{name}: data info {idx} lacks {missing} (a clip needs {REQUIRED_INFO_KEYS})')
            if info.get('audio_perturbation') is not None:
                raise ValueError(f'{name}: clip {info["clip_id"]} already carries audio_perturbation '
                                 f'{info["audio_perturbation"]!r} (perturbed twice?)')
        cfg = self.perturbation
        if cfg['type'] in WAVEFORM_PERTURBATIONS:
            pkl = [info['audio_path'] for info in infos if str(info['audio_path']).lower().endswith('.pkl')]
            if pkl:
                raise ValueError(f'{name}: perturbation {cfg["type"]!r} mixes waveforms, but {len(pkl)} clip(s) use '
                                 f'pre-computed log-mel .pkl audio (e.g. {pkl[0]}); use waveform audio (AVSBench '
                                 "readers: audio_source='wav')")
        partner = None
        if cfg['type'] == 'swap' or (cfg['type'] == 'offscreen' and 'offscreen_audio' not in cfg):
            try:
                partner = category_derangement([info.get('category') for info in infos], cfg['seed'])
            except ValueError as err:
                raise ValueError(f'{name}: {cfg["type"]!r}: {err}') from err
        self._clip_perturbations = []
        for i, info in enumerate(infos):
            clip = dict(type=cfg['type'], seed=clip_seed(cfg['seed'], info['clip_id']))
            if 'snr_db' in cfg:
                clip['snr_db'] = cfg['snr_db']
            if partner is not None:
                clip['other_audio_path'] = infos[partner[i]]['audio_path']
                clip['other_clip_id'] = infos[partner[i]]['clip_id']
            elif cfg['type'] == 'offscreen':
                clip['other_audio_path'] = cfg['offscreen_audio']
                clip['other_clip_id'] = None
            self._clip_perturbations.append(clip)
        self._fully_initialized = True

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """The wrapped dataset's data info of clip ``idx`` plus its ``audio_perturbation``."""
        info = self.dataset.get_data_info(idx)
        info['audio_perturbation'] = copy.deepcopy(self._clip_perturbations[idx])
        return info

    @force_full_init
    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            print_log('Please call `full_init` method manually to accelerate the speed.', logger='current',
                      level=logging.WARNING)
            self.full_init()
        info = self.get_data_info(idx)
        data = self.dataset.pipeline(self.transform(info))
        if data is None:
            # A refetch (as BaseDataset does in training) would evaluate another clip in this one's place.
            raise RuntimeError(f'AudioPerturbedDataset: the pipeline of {type(self.dataset).__name__} dropped clip '
                               f'{info["clip_id"]} (returned None)')
        return data

    def get_subset_(self, indices: Union[List[int], int]) -> None:
        """Not supported: set ``indices`` on the wrapped dataset (partners are chosen among its clips)."""
        raise NotImplementedError('AudioPerturbedDataset does not support get_subset_; set `indices` on the wrapped '
                                  'dataset instead')

    def get_subset(self, indices: Union[List[int], int]) -> 'AudioPerturbedDataset':
        """Not supported: set ``indices`` on the wrapped dataset (partners are chosen among its clips)."""
        raise NotImplementedError('AudioPerturbedDataset does not support get_subset; set `indices` on the wrapped '
                                  'dataset instead')
