"""AVS-Synthetic (annotation-free AVS, seed 002): (image, mask, audio) triplets composed from segmentation and
audio-classification datasets."""
import json
import os.path as osp
import pickle
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from avsseg.registry import DATASETS
from .base_avs_dataset import BaseAVSDataset
from .dataset_wrappers.audio_perturbed_dataset import clip_seed

#: Audio file extensions an ``audio_name`` may already carry (otherwise ``.wav`` is appended).
AUDIO_EXTENSIONS = ('.wav', '.flac', '.ogg', '.mp3', '.m4a', '.mp4')


class _NoGlobalsUnpickler(pickle.Unpickler):
    """Unpickles plain containers only (dict / list / str / int): the release's category pool pickle needs nothing
    else, and any global it named could run code."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f'global {module}.{name} is not allowed in a category -> audio list pickle')


@DATASETS.register_module()
class AVSSyntheticDataset(BaseAVSDataset):
    """AVS-Synthetic, read from the released layout or from the output of
    ``tools/dataset_converters/build_avs_synthetic.py`` (same layout).

    ``data_root``::

        annotations.csv                  header row; columns read by name (see below), any order, extra ones kept out
        images/{img_id}.jpg              (.jpeg / .png also accepted: ``img_suffixes``)
        masks/{inst_id}.png              one binary mask (0/255) per row, at the image's size
        audios/{audio_name}.wav          whole audio clips (VGGSound: 10 s)
        category_audios.json             {cls_id: [audio_name, ...]}  (builder), or the release's
        category_for_vggsound_audios.pkl same dict as a pickle (read without allowing any global)

    ``annotations.csv`` columns used: ``inst_id`` (sample id, the clip id), ``img_id``, ``split`` (``train``,
    ``val`` or the release's ``validate``, read as ``val``, or ``test``), ``cls_name``, ``cls_id`` (the pool key),
    and optionally ``audio_name`` (the fixed audio of a val/test sample) and ``dataset`` (the source). A row is
    one sample: one image and one mask, either one instance (the release) or the union of the category's
    instances (the builder's default ``--mask-mode category``); the reader does not care which.

    One item is a clip of T = 1 frame (``num_frames=1``, labelled), so every clip transform, ``PackAVSInputs`` and
    the binary metric work unchanged. Audio (the authors' release loader):

    - training (``resample_audio``, default on for ``split='train'``): every load draws a random audio clip of the
      sample's category from the pool (``np.random``, which mmengine seeds per worker from ``randomness.seed``), so
      an image meets many recordings of its category over the epochs;
    - val/test: the row's ``audio_name``; a row without one gets a fixed draw from the pool seeded by
      ``audio_seed`` and the sample id (the same audio in every evaluation, whatever the order or worker count).

    The pipeline should load audio with ``LoadClipAudioFromExample(start_example=1)``: the release feeds the second
    0.96 s VGGish example of each wav (0.96-1.92 s).

    Every image, mask and pool audio file is checked when the list is built; problems raise one error listing
    them (nothing is skipped). A category with rows but no pool audio is an error naming it.

    Args:
        split: ``'train'``, ``'val'`` or ``'test'``.
        data_root: the dataset folder.
        ann_file: annotations csv, relative to ``data_root``.
        audio_pool_file: category -> audio list file relative to ``data_root``; ``None`` takes
            ``category_audios.json`` when it exists, else ``category_for_vggsound_audios.pkl``.
        resample_audio: draw a new pool audio at every load; ``None``: only for ``split='train'``.
        audio_seed: seed of the fixed val/test draws for rows without ``audio_name``.
        img_suffixes: image extensions tried in order for ``images/{img_id}``.
        **kwargs: see :class:`BaseAVSDataset` (``pipeline``, ``test_mode``, ``indices``, ...).
    """

    METAINFO = dict(classes=('background', 'object'), palette=[[0, 0, 0], [255, 255, 255]])
    REQUIRED_COLUMNS = ('inst_id', 'img_id', 'split', 'cls_name', 'cls_id')
    SPLIT_ALIASES = {'validate': 'val'}
    POOL_FILES = ('category_audios.json', 'category_for_vggsound_audios.pkl')

    def __init__(self,
                 split: str,
                 data_root: str,
                 ann_file: str = 'annotations.csv',
                 audio_pool_file: Optional[str] = None,
                 resample_audio: Optional[bool] = None,
                 audio_seed: int = 0,
                 img_suffixes: Sequence[str] = ('.jpg', '.jpeg', '.png'),
                 **kwargs):
        if 'audio_source' in kwargs:
            raise ValueError('AVSSyntheticDataset: audio_source does not apply (AVS-Synthetic audio is always a '
                             'waveform file under audios/)')
        self.audio_pool_file = audio_pool_file
        self.resample_audio = split == 'train' if resample_audio is None else bool(resample_audio)
        self.audio_seed = int(audio_seed)
        self.img_suffixes = tuple(img_suffixes)
        self.audio_pools: Dict[str, Tuple[str, ...]] = {}
        super().__init__(split=split, data_root=data_root, ann_file=ann_file, audio_source='wav', **kwargs)

    # ------------------------------------------------------------------ audio pools
    def _pool_path(self) -> str:
        if self.audio_pool_file is not None:
            return self._path(self.audio_pool_file)
        for name in self.POOL_FILES:
            if osp.isfile(self._path(name)):
                return self._path(name)
        raise FileNotFoundError(f'AVSSyntheticDataset: no category -> audio list in {self.data_root} (looked for '
                                f'{" and ".join(self.POOL_FILES)})')

    def audio_file(self, audio_name: str) -> str:
        """Path of ``audios/{audio_name}`` (``.wav`` appended unless the name has an audio extension)."""
        name = audio_name if audio_name.lower().endswith(AUDIO_EXTENSIONS) else f'{audio_name}.wav'
        return self._path('audios', name)

    def read_audio_pools(self) -> Dict[str, List[str]]:
        """``{cls_id: [audio_name, ...]}`` from the pool file (keys as strings, as the csv's ``cls_id``)."""
        path = self._pool_path()
        if not osp.isfile(path):
            raise FileNotFoundError(f'AVSSyntheticDataset: category -> audio list not found: {path}')
        try:
            if path.lower().endswith('.pkl'):
                with open(path, 'rb') as f:
                    pools = _NoGlobalsUnpickler(f).load()
            else:
                with open(path, encoding='utf-8') as f:
                    pools = json.load(f)
        except (pickle.UnpicklingError, json.JSONDecodeError, EOFError, UnicodeDecodeError) as err:
            raise ValueError(f'AVSSyntheticDataset: cannot read the category -> audio list {path}: {err}') from err
        if not isinstance(pools, dict) or not all(
                isinstance(v, (list, tuple)) and all(isinstance(a, str) for a in v) for v in pools.values()):
            raise ValueError(f'AVSSyntheticDataset: {path} must hold a dict {{category id: [audio names]}}')
        return {str(k): list(v) for k, v in pools.items()}

    # ------------------------------------------------------------------ list building
    def parse_clips(self) -> List[dict]:
        header, rows = self.read_csv()
        col = {name: header.index(name) for name in header}
        for r in rows:  # the release calls the validation split 'validate'
            r[col['split']] = self.SPLIT_ALIASES.get(r[col['split']], r[col['split']])
        rows = self.select_split(rows, split_index=col['split'], id_index=col['inst_id'])
        pools = self.read_audio_pools()
        pool_name = osp.basename(self._pool_path())
        problems: List[str] = []
        used_pools = {}
        for r in rows:
            cls_id = r[col['cls_id']]
            if cls_id in used_pools:
                continue
            names = pools.get(cls_id)
            if not names:
                problems.append(f'category {r[col["cls_name"]]!r} (cls_id {cls_id}, first row line {r.line}) has no '
                                f'audio in {pool_name}')
                continue
            paths = tuple(self.audio_file(n) for n in names)
            problems.extend(f'category {r[col["cls_name"]]!r} (cls_id {cls_id}): missing pool audio {p}'
                            for p in paths if not osp.isfile(p))
            used_pools[cls_id] = paths
        self.audio_pools = used_pools
        clips = []
        for r in rows:
            clip_id, img_id, cls_id = r[col['inst_id']], r[col['img_id']], r[col['cls_id']]
            img_path = self._image_path(img_id)
            if img_path is None:
                tried = ', '.join(self._path('images', img_id + s) for s in self.img_suffixes)
                problems.append(f'sample {clip_id} (line {r.line}): no image, tried {tried}')
            audio_name = r[col['audio_name']] if 'audio_name' in col else ''
            clips.append(
                dict(
                    clip_id=clip_id,
                    img_paths=[img_path],
                    seg_map_paths=[self._path('masks', f'{clip_id}.png')],
                    audio_candidates=dict(wav=self._fixed_audio(clip_id, cls_id, audio_name)),
                    num_frames=1,
                    frame_flags=self.make_flags(1, [0]),
                    subset='avs_synthetic',
                    category=r[col['cls_name']],
                    category_id=cls_id,
                    image_id=img_id,
                    source=r[col['dataset']] if 'dataset' in col else '',
                    label_format='binary'))
        # The base class reports every clip's `_problems` (with its own missing-file checks) in one error.
        clips[0]['_problems'] = problems
        return clips

    def _image_path(self, img_id: str) -> Optional[str]:
        for suffix in self.img_suffixes:
            path = self._path('images', img_id + suffix)
            if osp.isfile(path):
                return path
        return None

    def _fixed_audio(self, clip_id: str, cls_id: str, audio_name: str) -> Optional[str]:
        if audio_name:
            return self.audio_file(audio_name)
        pool = self.audio_pools.get(cls_id)
        if not pool:
            return None  # reported with the category
        return pool[clip_seed(self.audio_seed, clip_id) % len(pool)]

    # ------------------------------------------------------------------ loading
    def prepare_data(self, idx: int):
        """The clip of ``idx`` through the pipeline; with :attr:`resample_audio` its audio is first replaced by a
        random clip of the same category's pool."""
        info = self.get_data_info(idx)
        if self.resample_audio:
            pool = self.audio_pools[info['category_id']]
            info['audio_path'] = pool[np.random.randint(len(pool))]
        return self.pipeline(info)
