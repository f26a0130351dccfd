"""``AVSInferencer``: segment the sounding objects of a video (or of frames plus a sound file) with a trained model."""
import copy
import os
import os.path as osp
import warnings
from dataclasses import dataclass, field
from glob import glob
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

import mmcv
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config, ConfigDict
from mmengine.infer.infer import BaseInferencer, ModelType
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from mmseg.structures import SegDataSample

from avsseg.datasets.audio import load_audio, to_mono_16k
from avsseg.datasets.audio.io import SOUNDFILE_EXTENSIONS
from avsseg.datasets.avsbench_semantic_dataset import avss_palette
from avsseg.datasets.maskige import MASKIGE_SUFFIX
from avsseg.datasets.transforms import LoadClipAnnotations, LoadClipAudio, LoadClipFrames, LoadClipWaveform
from avsseg.datasets.transforms.aux_images import declare_aux_image_key
from avsseg.datasets.transforms.formatting import avs_collate
from avsseg.registry import DATASETS, INFERENCERS, TRANSFORMS
from avsseg.utils import drop_missing_weight_files
from avsseg.utils.config_scope import configs_root
from .sampling import (AVSBENCH_FRAME_OFFSET, centred_log_mel, centred_windows, clip_spans, clip_waveform,
                       num_sampled_seconds, second_frame_indices)
from .video_io import IMAGE_EXTENSIONS, VideoInfo, iter_video_frames, list_frame_files, probe_video

#: Repository ``configs/`` folder, where a config name (``tpavi_tiny_synthetic_s4``) is looked up.
CONFIG_ROOT = configs_root()
#: Loaders of the test pipeline the inferencer replaces by its own loading (annotations are dropped).
FRAME_LOADER, AUDIO_LOADER, ANNOTATION_LOADER = 'LoadClipFrames', 'LoadClipAudio', 'LoadClipAnnotations'
INPUT_KEYS = ('video', 'frames', 'audio', 'sample_rate', 'audio_start', 'aux_images', 'name')
#: Metainfo the inferencer adds to every frame's data sample.
FRAME_META = ('source_index', 'source_name', 'frame_index', 'frame_time', 'second', 'is_output')

InputType = Union[str, dict]
InputsType = Union[InputType, Sequence[InputType]]


def resolve_config(model: ModelType) -> ModelType:
    """A config path, or a config name looked up in ``configs/`` (``tpavi_tiny_synthetic_s4`` or with ``.py``)."""
    if not isinstance(model, (str, os.PathLike)) or osp.isfile(model):
        return model
    name = osp.basename(os.fspath(model))
    name = name if name.endswith('.py') else name + '.py'
    found = sorted(glob(osp.join(CONFIG_ROOT, '**', name), recursive=True))
    found = [path for path in found if osp.sep + '_base_' + osp.sep not in path]
    if len(found) == 1:
        return found[0]
    if not found:
        raise FileNotFoundError(f'AVSInferencer: {model!r} is neither a config file nor a config name in {CONFIG_ROOT}')
    raise ValueError(f'AVSInferencer: config name {model!r} is ambiguous: {found}')


def _type_name(transform_cfg: Any) -> str:
    kind = transform_cfg.get('type', '') if isinstance(transform_cfg, dict) else ''
    return kind.split('.')[-1] if isinstance(kind, str) else getattr(kind, '__name__', '')


def _loader_role(transform_cfg: Any) -> str:
    """``FRAME_LOADER`` / ``AUDIO_LOADER`` / ``ANNOTATION_LOADER`` when the transform is one of those loaders or a
    subclass of one (``LoadClipWaveform`` is an audio loader), else its type name."""
    kind = transform_cfg.get('type') if isinstance(transform_cfg, dict) else None
    cls = TRANSFORMS.get(kind) if isinstance(kind, str) else kind
    if isinstance(cls, type):
        for base, role in ((LoadClipFrames, FRAME_LOADER), (LoadClipAudio, AUDIO_LOADER),
                           (LoadClipAnnotations, ANNOTATION_LOADER)):
            if issubclass(cls, base):
                return role
    return _type_name(transform_cfg)


def _dataset_cfg(cfg: Config) -> dict:
    """The innermost dataset config of ``test_dataloader`` (through wrappers such as ``AudioPerturbedDataset``)."""
    node = cfg.test_dataloader.dataset
    while 'dataset' in node:
        node = node['dataset']
    if 'datasets' in node:
        node = node['datasets'][0]
    return node


def _keep_ori_shape(transform_cfg: dict) -> dict:
    """Set ``update_ori_shape=False`` in a transform config and the transforms it wraps: masks come back at the
    frames' size (a test pipeline may score at its resized size)."""
    if 'update_ori_shape' in transform_cfg:
        transform_cfg['update_ori_shape'] = False
    for inner in transform_cfg.get('transforms') or ():
        if isinstance(inner, dict):
            _keep_ori_shape(inner)
    return transform_cfg


@dataclass
class MediaSource:
    """One input of the inferencer, normalised.

    ``kind`` is ``'video'`` (``video`` is a file with a video and an audio stream) or ``'frames'`` (one frame per
    second: ``frame_paths`` or ``frame_arrays``, sound from ``audio_path`` or ``wave`` at ``sample_rate``, starting
    ``audio_start`` seconds into it). ``aux`` maps an auxiliary image key (COMBO: ``'maskige'``) to a folder, a
    list of per-frame images or a callable ``fn(frame RGB) -> image``.
    """
    name: str
    kind: str
    video: Optional[str] = None
    frame_paths: Optional[List[str]] = None
    frame_arrays: Optional[List[np.ndarray]] = field(default=None, repr=False)
    audio_path: Optional[str] = None
    wave: Optional[np.ndarray] = field(default=None, repr=False)
    sample_rate: Optional[int] = None
    audio_start: float = 0.0
    aux: Dict[str, Any] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return len(self.frame_paths if self.frame_paths is not None else self.frame_arrays)

    def describe_audio(self) -> str:
        return self.video or self.audio_path or f'<waveform of {self.name}>'


def check_video(path: str, frame_offset: float = AVSBENCH_FRAME_OFFSET) -> VideoInfo:
    """Probe a video and check an AVS model can use it: it opens, has frames and a sound track (silence is
    fine) and lasts at least one second (half a frame of tolerance). Returns its :class:`VideoInfo`.

    Raises:
        FileNotFoundError, RuntimeError, ValueError: naming the file.
    """
    info = probe_video(path)
    if not info.has_audio:
        raise ValueError(f'{path!r} has no audio stream; an audio-visual model needs the sound (a silent track is '
                         'fine)')
    if info.duration < 1.0 - 0.5 / float(info.fps) or num_sampled_seconds(info.duration, frame_offset) < 1:
        raise ValueError(f'{path!r} lasts {info.duration:.3f} s; at least one second is needed (the models take '
                         'one frame per second)')
    return info


def _find_audio_file(folder: str) -> str:
    sounds = sorted(n for n in os.listdir(folder) if osp.splitext(n)[1].lower() in SOUNDFILE_EXTENSIONS)
    if len(sounds) != 1:
        raise ValueError(f'AVSInferencer: a frame folder given alone must hold exactly one sound file (wav, flac, '
                         f'...) next to the frames; {folder!r} holds {len(sounds)} ({sounds[:5]}). Pass '
                         'dict(frames=FOLDER, audio=SOUND_FILE) instead')
    return osp.join(folder, sounds[0])


def _as_frame_arrays(frames: Any, where: str) -> List[np.ndarray]:
    arrays = list(frames) if not (isinstance(frames, np.ndarray) and frames.ndim == 3) else [frames]
    for i, image in enumerate(arrays):
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f'AVSInferencer: {where}: frame {i} must be a uint8 RGB array [H, W, 3], got '
                             f'{getattr(image, "dtype", type(image).__name__)} {getattr(image, "shape", "")}')
    return arrays


def to_media_source(item: Any, index: int = 0) -> MediaSource:
    """Normalise one input: a video path, a folder of frames holding one sound file, or a dict with ``frames``
    (folder, list of image paths or uint8 RGB arrays ``[N, H, W, 3]``), ``audio`` (sound or video file, or a
    float waveform ``[samples]`` / ``[channels, samples]`` with ``sample_rate``), optional ``audio_start``
    (seconds into the sound where frame 0 starts), ``aux_images`` and ``name``."""
    if isinstance(item, MediaSource):
        return item
    if isinstance(item, (str, os.PathLike)):
        path = os.fspath(item)
        name = osp.splitext(osp.basename(osp.normpath(path)))[0] or f'input{index}'
        if osp.isdir(path):
            return MediaSource(name=name, kind='frames', frame_paths=list_frame_files(path),
                               audio_path=_find_audio_file(path))
        if not osp.isfile(path):
            raise FileNotFoundError(f'AVSInferencer: input not found: {path!r}')
        if path.lower().endswith(IMAGE_EXTENSIONS):
            raise ValueError(f'AVSInferencer: {path!r} is a single image; give its sound too: '
                             'dict(frames=[IMAGE], audio=SOUND_FILE)')
        return MediaSource(name=name, kind='video', video=path)
    if isinstance(item, np.ndarray):
        raise ValueError('AVSInferencer: frames given without sound; pass dict(frames=ARRAY, audio=WAVE, '
                         'sample_rate=SR)')
    if not isinstance(item, dict):
        raise TypeError(f'AVSInferencer: input {index} must be a video path, a frame folder or a dict, got '
                        f'{type(item).__name__}')
    unknown = sorted(set(item) - set(INPUT_KEYS))
    if unknown:
        raise KeyError(f'AVSInferencer: input {index} has unknown keys {unknown}; known: {INPUT_KEYS}')
    if item.get('video') is not None:
        extra = sorted(k for k in ('frames', 'audio', 'sample_rate', 'audio_start') if item.get(k) is not None)
        if extra:
            raise KeyError(f'AVSInferencer: input {index} gives a video and {extra}; a video brings its own frames '
                           'and sound')
        source = to_media_source(item['video'], index)
        if source.kind != 'video':
            raise ValueError(f'AVSInferencer: input {index}: {item["video"]!r} is not a video file')
        source.aux = dict(item.get('aux_images') or {})
        source.name = str(item.get('name') or source.name)
        return source
    for key in ('frames', 'audio'):
        if item.get(key) is None:
            raise KeyError(f'AVSInferencer: input {index} needs {key!r}')
    frames, audio = item['frames'], item['audio']
    name = item.get('name')
    source = MediaSource(name='', kind='frames', audio_start=float(item.get('audio_start', 0.0)),
                         aux=dict(item.get('aux_images') or {}))
    if isinstance(frames, (str, os.PathLike)):
        source.frame_paths = list_frame_files(os.fspath(frames))
        name = name or osp.basename(osp.normpath(os.fspath(frames)))
    elif isinstance(frames, (list, tuple)) and frames and all(isinstance(f, (str, os.PathLike)) for f in frames):
        source.frame_paths = [os.fspath(f) for f in frames]
        for path in source.frame_paths:
            if not osp.isfile(path):
                raise FileNotFoundError(f'AVSInferencer: frame file not found: {path!r}')
    else:
        source.frame_arrays = _as_frame_arrays(frames, f'input {index}')
    if not source.num_frames:
        raise ValueError(f'AVSInferencer: input {index} has no frame')
    if isinstance(audio, (str, os.PathLike)):
        source.audio_path = os.fspath(audio)
        if not osp.isfile(source.audio_path):
            raise FileNotFoundError(f'AVSInferencer: sound file not found: {source.audio_path!r}')
        name = name or osp.splitext(osp.basename(source.audio_path))[0]
    else:
        if item.get('sample_rate') is None:
            raise KeyError(f'AVSInferencer: input {index} gives a waveform without its sample_rate')
        source.wave = np.asarray(audio, np.float32)
        source.sample_rate = int(item['sample_rate'])
    if source.audio_start < 0:
        raise ValueError(f'AVSInferencer: input {index}: audio_start must be >= 0, got {source.audio_start}')
    source.name = str(name or f'input{index}')
    return source


class _ClipLoader:
    """First step of the inferencer's pipeline: puts a clip's frames, auxiliary images and audio in ``results``
    as the dataset loaders would, from video frames, image files or arrays.

    Frames from files go through the config's ``LoadClipFrames`` and a waveform through its ``LoadClipAudio``
    (``results['audio_waveform']``), so the decoding, the examples and the padding rules are the dataset's.
    """

    def __init__(self, frame_loader, audio_loader, aux_loaders: Dict[str, Any]):
        self.frame_loader = frame_loader
        self.audio_loader = audio_loader
        self.aux_loaders = aux_loaders

    def _aux_from_folder(self, key: str, folder: str, stems: List[Optional[str]], results: dict) -> None:
        loader = self.aux_loaders[key]
        if type(loader).__name__ == 'LoadClipMaskige':
            # the Maskige of frame {stem} is {folder}/{stem}_mask_color.png, as make_maskige.py --dataset folder
            # writes them next to dumped frames
            loader = TRANSFORMS.build(dict(type='LoadClipMaskige', layout='beside', missing=loader.missing_mode,
                                           resize_to_frame=loader.resize_to_frame))
        sub = dict(img_paths=[None if s is None else osp.join(folder, s + '.png') for s in stems],
                   imgs=results['imgs'], clip_id=results['clip_id'])
        sub = loader(sub)
        results[key] = sub[key]
        results[key + '_paths'] = sub.get(key + '_paths')
        declare_aux_image_key(results, key, 'AVSInferencer')

    def _aux_from_images(self, key: str, images: List[Optional[np.ndarray]], results: dict) -> None:
        real = [img for img in images if img is not None]
        for t, (img, frame) in enumerate(zip(images, results['imgs'])):
            if img is not None and img.shape[:2] != frame.shape[:2]:
                raise ValueError(f'AVSInferencer: clip {results["clip_id"]}: {key!r} image of frame {t} is '
                                 f'{img.shape[1]}x{img.shape[0]} but the frame is {frame.shape[1]}x{frame.shape[0]}')
        like = real[0]
        results[key] = [np.zeros_like(like) if img is None else (img if img.ndim == 3 else img[..., None])
                        for img in images]
        declare_aux_image_key(results, key, 'AVSInferencer')

    def __call__(self, item: dict) -> dict:
        results = {k: v for k, v in item.items() if not k.startswith('_')}
        padded = item['frame_flags']['is_padded']
        if item.get('_frame_paths') is not None:
            results['img_paths'] = item['_frame_paths']
            results = self.frame_loader(results)
        else:
            arrays = item['_frame_arrays']
            shape = next(a.shape for a in arrays if a is not None)
            for t, image in enumerate(arrays):
                if image is not None and image.shape != shape:
                    raise ValueError(f'AVSInferencer: clip {item["clip_id"]}: frame {t} is {image.shape[1]}x'
                                     f'{image.shape[0]} but frame 0 is {shape[1]}x{shape[0]}; all frames of a source '
                                     'must have one size')
            results['imgs'] = [np.zeros(shape, np.uint8) if a is None else a for a in arrays]
            results['img_shape'] = results['ori_shape'] = shape[:2]
        for key, source in item['_aux'].items():
            if isinstance(source, str) and source != 'config':
                self._aux_from_folder(key, source, item['_frame_stems'], results)
            elif callable(source):
                self._aux_from_images(key, [None if p else source(img) for img, p in zip(results['imgs'], padded)],
                                      results)
            elif isinstance(source, str) and source == 'config':
                sub = self.aux_loaders[key](dict(img_paths=results['img_paths'], imgs=results['imgs'],
                                                 clip_id=results['clip_id']))
                results[key] = sub[key]
                declare_aux_image_key(results, key, 'AVSInferencer')
            else:
                self._aux_from_images(key, source, results)
        if item.get('_audio') is not None:
            results['audio'] = item['_audio']
        else:
            results = self.audio_loader(results)
        return results


@INFERENCERS.register_module()
class AVSInferencer(BaseInferencer):
    """Segment the sounding objects of videos with a trained audio-visual segmentor.

    The split of keyword arguments follows mmseg's ``MMSegInferencer``: ``every_frame`` goes to :meth:`preprocess`,
    ``return_probs`` to :meth:`forward`, ``show`` / ``wait_time`` / ``img_out_dir`` / ``return_vis`` /
    ``with_labels`` to :meth:`visualize`, ``pred_out_dir`` to :meth:`postprocess`.

    Inputs (one, or a list):

    - a video file with a sound track (mp4, mkv, webm, mov, ... anything PyAV opens);
    - a folder of frames (one per second, natural order) holding exactly one sound file;
    - ``dict(frames=FOLDER | [image paths] | uint8 RGB [N, H, W, 3], audio=SOUND_OR_VIDEO_FILE | waveform,
      sample_rate=SR (waveforms), audio_start=SECONDS, aux_images={key: FOLDER | [images] | fn}, name=STR)``;
    - ``dict(video=PATH, aux_images=..., name=...)`` (a video with auxiliary images).

    Sampling (``sampling`` argument or the config's ``video_sampling`` dict; defaults from the test dataset): a video
    gives one frame per second, the one on screen at ``s + frame_offset`` (AVSBench: ``15/16``, the last of 16 per
    second), and the sound of clip ``c`` is the video's sound over its seconds, turned into one VGGish example per
    frame by the config's ``LoadClipAudio``; frame files are taken as one per second already. Frames are cut into
    clips of ``clip_length`` (the dataset's: 5 for S4/MS3, 10 for AVSS); a shorter last clip is padded with frames
    flagged ``is_padded`` (zero image, zero audio), never dropped. With ``every_frame=True`` (videos) every frame
    is segmented, its sound a VGGish example centred on it, in clips of frames one second apart.

    Per-frame transforms come from the config's test pipeline (its loaders replaced, ``ClipResize`` keeping
    ``ori_shape``, so masks come at the frames' size); auxiliary images (COMBO's Maskige) come from
    ``aux_images``: a folder holding ``{stem}_mask_color.png`` for each frame (video frames: ``stem`` is the
    6-digit frame index, as ``tools/demo/video_demo.py --dump-frames`` names them), a list of images or a
    function; frame files without ``aux_images`` use the config's own loader.

    Returns (``__call__``): ``dict(predictions=..., visualization=...)``, one entry per input (unwrapped for a
    single input). A prediction is a dict with ``masks`` (uint8 ``[N, H, W]``: 0/1 for binary models, class
    indices for semantic ones), ``frame_indices`` (int64 ``[N]``: video frame or frame file index), ``times``
    (float64 ``[N]`` seconds), ``seconds`` (int64 ``[N]``, the second each sampled frame stands for; -1 with
    ``every_frame``), ``classes``, ``palette``, ``name`` and, with ``return_probs``, ``probs`` (float32
    ``[N, H, W]`` foreground probability for binary models, ``[N, C, H, W]`` class probabilities otherwise).

    Args:
        model: config path, config name in ``configs/`` or config object.
        weights: checkpoint path (None: random weights, with a warning).
        device: ``'cpu'``, ``'cuda'``, ... (default: CUDA when available).
        scope: registry scope. Defaults to ``'avsseg'``.
        sampling: ``dict(clip_length=..., frame_offset=...)`` overriding the config's ``video_sampling``.
        show_progress: show a progress bar over the batches.
    """

    preprocess_kwargs: set = {'every_frame'}
    forward_kwargs: set = {'return_probs'}
    visualize_kwargs: set = {'show', 'wait_time', 'img_out_dir', 'return_vis', 'with_labels'}
    postprocess_kwargs: set = {'pred_out_dir'}

    def __init__(self,
                 model: ModelType,
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: Optional[str] = 'avsseg',
                 sampling: Optional[dict] = None,
                 show_progress: bool = True) -> None:
        init_default_scope(scope or 'avsseg')
        self._sampling_override = dict(sampling or {})
        self._checkpoint_meta: dict = {}
        super().__init__(model=resolve_config(model), weights=weights, device=device, scope=scope,
                         show_progress=show_progress)
        if device == 'cpu' or not torch.cuda.is_available():
            self.model = revert_sync_batchnorm(self.model)
        if not hasattr(self.visualizer, 'draw_frame'):
            raise TypeError(f'AVSInferencer: the config\'s visualizer is {type(self.visualizer).__name__}; it must be '
                            'an AVSLocalVisualizer (configs/_base_/default_runtime.py)')
        self.visualizer.set_dataset_meta(self.model.dataset_meta['classes'], self.model.dataset_meta['palette'])

    # ------------------------------------------------------------------ set-up
    def _init_model(self, cfg: Config, weights: Optional[str], device: str = 'cpu') -> torch.nn.Module:
        # the checkpoint holds every weight: pretraining files that are not here are not needed
        drop_missing_weight_files(cfg)
        return super()._init_model(cfg, weights, device)

    def _load_weights_to_model(self, model: torch.nn.Module, checkpoint: Optional[dict], cfg: Config) -> None:
        if checkpoint is not None:
            _load_checkpoint_to_model(model, checkpoint)
        else:
            warnings.warn('AVSInferencer: no checkpoint given; the predictions come from random weights')
        model.dataset_meta = self._dataset_meta(checkpoint, cfg, model)

    @staticmethod
    def _dataset_meta(checkpoint: Optional[dict], cfg: Config, model) -> dict:
        """Classes and palette: the checkpoint's (saved by the runner), else the test dataset class's."""
        num_classes = int(getattr(model, 'num_classes', 2))
        meta = ((checkpoint or {}).get('meta') or {}).get('dataset_meta') or {}
        if meta.get('classes') is not None and meta.get('palette') is not None:
            return dict(classes=tuple(meta['classes']), palette=[list(map(int, c)) for c in meta['palette']])
        dataset_type = _dataset_cfg(cfg).get('type')
        dataset_cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else dataset_type
        meta = getattr(dataset_cls, 'METAINFO', None) or {}
        if meta.get('classes') is not None and len(meta['classes']) == num_classes and meta.get('palette'):
            return dict(classes=tuple(meta['classes']), palette=[list(c) for c in meta['palette']])
        warnings.warn(f'AVSInferencer: the checkpoint holds no dataset_meta and {dataset_type} names no '
                      f'{num_classes} classes; drawing classes as class_1 .. class_{num_classes - 1}')
        classes = ('background', ) + tuple(f'class_{i}' for i in range(1, num_classes))
        return dict(classes=classes, palette=avss_palette(num_classes))

    def _sampling(self, cfg: Config) -> dict:
        sampling = dict(cfg.get('video_sampling') or {})
        sampling.update(self._sampling_override)
        unknown = sorted(set(sampling) - {'clip_length', 'frame_offset'})
        if unknown:
            raise KeyError(f'AVSInferencer: unknown video_sampling keys {unknown}; known: clip_length, frame_offset')
        if sampling.get('clip_length') is None:
            dataset = _dataset_cfg(cfg)
            dataset_cls = DATASETS.get(dataset.get('type')) if isinstance(dataset.get('type'), str) else None
            sampling['clip_length'] = dataset.get('max_frames') or getattr(dataset_cls, 'NUM_FRAMES', None)
            if sampling['clip_length'] is None:
                raise ValueError(f'AVSInferencer: cannot tell the clip length from the test dataset '
                                 f'{dataset.get("type")}; set video_sampling=dict(clip_length=T) in the config or '
                                 'pass sampling=dict(clip_length=T)')
        sampling['clip_length'] = int(sampling['clip_length'])
        if sampling['clip_length'] < 1:
            raise ValueError(f'AVSInferencer: clip_length must be >= 1, got {sampling["clip_length"]}')
        sampling.setdefault('frame_offset', AVSBENCH_FRAME_OFFSET)
        if not 0 <= sampling['frame_offset'] < 1:
            raise ValueError(f'AVSInferencer: frame_offset must be in [0, 1), got {sampling["frame_offset"]}')
        return sampling

    def _init_pipeline(self, cfg: Config) -> Compose:
        """The config's test pipeline with its loaders replaced by :class:`_ClipLoader`."""
        self.sampling = self._sampling(cfg)
        pipeline_cfg = copy.deepcopy(cfg.test_dataloader.dataset.get('pipeline'))
        if pipeline_cfg is None:
            pipeline_cfg = copy.deepcopy(_dataset_cfg(cfg).get('pipeline'))
        names = [_loader_role(t) for t in pipeline_cfg]
        for required in (FRAME_LOADER, AUDIO_LOADER):
            if required not in names:
                raise ValueError(f'AVSInferencer: the test pipeline has no {required}; the inferencer replaces '
                                 f'the loaders of a clip pipeline ({names})')
        from avsseg.datasets.transforms.loading_aux import LoadClipAuxImages
        frame_loader = audio_loader = None
        aux_loaders: Dict[str, Any] = {}
        rest = []
        for transform_cfg, name in zip(pipeline_cfg, names):
            if name == ANNOTATION_LOADER:
                continue
            if name in (FRAME_LOADER, AUDIO_LOADER):
                built = TRANSFORMS.build(transform_cfg)
                frame_loader, audio_loader = (built, audio_loader) if name == FRAME_LOADER else (frame_loader, built)
                continue
            transform_cls = TRANSFORMS.get(transform_cfg['type']) if isinstance(transform_cfg.get('type'), str) \
                else transform_cfg.get('type')
            if isinstance(transform_cls, type) and issubclass(transform_cls, LoadClipAuxImages):
                built = TRANSFORMS.build(transform_cfg)
                aux_loaders[built.key] = built
                continue
            rest.append(_keep_ori_shape(transform_cfg))
        self.aux_keys = tuple(aux_loaders)
        self._loader = _ClipLoader(frame_loader, audio_loader, aux_loaders)
        return Compose([self._loader] + rest)

    def _init_collate(self, cfg: Config) -> Callable:
        return avs_collate

    def _init_visualizer(self, cfg: Config):
        if 'visualizer' not in cfg:
            cfg.visualizer = ConfigDict(type='AVSLocalVisualizer', name='avs_inferencer')
        # drawings go to files (out_file) or are returned; the training backends (which need a save_dir) are not
        # used here
        cfg.visualizer.vis_backends = None
        return super()._init_visualizer(cfg)

    # ------------------------------------------------------------------ inputs
    def _inputs_to_list(self, inputs: InputsType) -> List[MediaSource]:
        items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if not items:
            raise ValueError('AVSInferencer: no input given')
        sources = [to_media_source(item, i) for i, item in enumerate(items)]
        names = [s.name for s in sources]
        for i, source in enumerate(sources):
            if names.count(source.name) > 1:
                source.name = f'{source.name}_{i}'
        return sources

    def _source_wave(self, source: MediaSource) -> np.ndarray:
        """The 16 kHz mono sound of a source from ``audio_start`` on."""
        if source.wave is not None:
            wave = to_mono_16k(source.wave, source.sample_rate)
        else:
            wave = to_mono_16k(*load_audio(source.describe_audio()))
        start = int(round(source.audio_start * 16000))
        if start >= len(wave):
            raise ValueError(f'AVSInferencer: audio_start {source.audio_start} s is beyond the end of '
                             f'{source.describe_audio()!r} ({len(wave) / 16000:.3f} s)')
        return wave[start:]

    def _aux_sources(self, source: MediaSource) -> Dict[str, Any]:
        aux = dict(source.aux)
        unknown = sorted(set(aux) - set(self.aux_keys))
        if unknown:
            raise KeyError(f'AVSInferencer: {source.name}: aux_images {unknown} are not inputs of this model '
                           f'(it takes {list(self.aux_keys) or "none"})')
        for key in self.aux_keys:
            if key in aux:
                if isinstance(aux[key], (str, os.PathLike)):
                    aux[key] = os.fspath(aux[key])
                    if not osp.isdir(aux[key]):
                        raise NotADirectoryError(f'AVSInferencer: {source.name}: aux_images[{key!r}] folder not '
                                                 f'found: {aux[key]!r}')
            elif source.frame_paths is not None:
                aux[key] = 'config'
            else:
                hint = (f' ({{frame index:06d}}{MASKIGE_SUFFIX} per video frame: dump the frames with '
                        'tools/demo/video_demo.py --dump-frames DIR, then tools/dataset_converters/make_maskige.py '
                        'DIR --dataset folder)') if key == 'maskige' else ''
                raise ValueError(f'AVSInferencer: this model also takes {key!r} images for every frame; give '
                                 f'aux_images={{{key!r}: FOLDER | [images] | fn}} for {source.name}{hint}')
        return aux

    @staticmethod
    def _aux_for(aux_source: Any, positions: List[Optional[int]]) -> Any:
        """The per-clip form of one auxiliary source: a folder (or ``'config'``) and a function stay as they
        are; a list is indexed by frame position (video frame index, or position among the frame files)."""
        if isinstance(aux_source, str) or callable(aux_source):
            return aux_source
        images = list(aux_source)
        return [None if p is None else np.asarray(images[p]) for p in positions]

    # ------------------------------------------------------------------ clips
    def _make_item(self, source: MediaSource, index: int, clip_id: str, frames: List[Optional[np.ndarray]],
                   paths: Optional[List[Optional[str]]], stems: List[Optional[str]], positions: List[Optional[int]],
                   meta: List[dict], aux: Dict[str, Any], wave: Optional[np.ndarray],
                   audio: Optional[np.ndarray]) -> dict:
        clip_length = self.sampling['clip_length']
        num_real = len(meta)
        pad = clip_length - num_real
        padded = [False] * num_real + [True] * pad
        item = dict(
            clip_id=clip_id,
            num_frames=clip_length,
            frame_flags=dict(is_labeled=[False] * clip_length, is_padded=padded),
            audio_path=source.describe_audio(),
            _frame_paths=None if paths is None else list(paths) + [None] * pad,
            _frame_arrays=None if paths is not None else list(frames) + [None] * pad,
            _frame_stems=list(stems) + [None] * pad,
            _aux={k: self._aux_for(v, list(positions) + [None] * pad) for k, v in aux.items()},
            _meta=list(meta) + [dict(source_index=index, source_name=source.name, frame_index=-1, frame_time=-1.0,
                                     second=-1, is_output=False)] * pad)
        if audio is not None:
            item['_audio'] = np.concatenate([audio, np.zeros((pad, ) + audio.shape[1:], np.float32)])
        else:
            item['audio_waveform'] = wave
            item['audio_waveform_source'] = f'{source.describe_audio()} ({clip_id})'
        return item

    def _sampled_items(self, source: MediaSource, index: int) -> Iterator[dict]:
        """Clips of one frame per second (video) or of the given frames (frame files / arrays)."""
        clip_length, offset = self.sampling['clip_length'], self.sampling['frame_offset']
        aux = self._aux_sources(source)
        if source.kind == 'video':
            info = check_video(source.video, offset)
            num_seconds = num_sampled_seconds(info.duration, offset)
            wave = self._source_wave(source)
            indices = second_frame_indices(info.frame_times, num_seconds, offset)
            frames_iter = self._pick_video_frames(source.video, indices)
        else:
            num_seconds = source.num_frames
            wave = self._source_wave(source)
            frames_iter = (
                (s, s, float(s + offset), None if source.frame_arrays is None else source.frame_arrays[s])
                for s in range(num_seconds))
        buffer: List[tuple] = []
        spans = clip_spans(num_seconds, clip_length)
        clip = 0
        for entry in frames_iter:
            buffer.append(entry)
            start, stop = spans[clip]
            if len(buffer) < stop - start:
                continue
            seconds, frame_indices, times, images = zip(*buffer)
            if source.frame_paths is not None:
                paths = [source.frame_paths[i] for i in frame_indices]
                stems = [osp.splitext(osp.basename(p))[0] for p in paths]
            else:
                paths = None
                stems = [f'{i:06d}' for i in frame_indices]
            meta = [dict(source_index=index, source_name=source.name, frame_index=int(i), frame_time=float(t),
                         second=int(s), is_output=True) for s, i, t in zip(seconds, frame_indices, times)]
            yield self._make_item(source, index, f'{source.name}_clip{clip}', list(images), paths, stems,
                                  list(frame_indices), meta, aux, clip_waveform(wave, start, stop - start), None)
            buffer = []
            clip += 1

    @staticmethod
    def _pick_video_frames(path: str, indices: np.ndarray) -> Iterator[tuple]:
        """``(second, frame index, time, image)`` for each sampled second, decoding the video once."""
        wanted: Dict[int, List[int]] = {}
        for second, frame_index in enumerate(indices.tolist()):
            wanted.setdefault(frame_index, []).append(second)
        for frame in iter_video_frames(path):
            for second in wanted.get(frame.index, ()):
                yield second, frame.index, frame.time, frame.image
            if frame.index >= indices[-1]:
                break

    def _every_frame_items(self, source: MediaSource, index: int) -> Iterator[dict]:
        """Every video frame, in clips of frames one second apart; each frame's sound centred on it.

        The frames of ``clip_length`` consecutive seconds form a block; clip ``r`` of a block takes the ``r``-th
        frame of each of its seconds (a second with fewer frames lends its last one as context only), so every
        frame is predicted once, among frames one second apart as in training.
        """
        if source.kind != 'video':
            raise ValueError(f'AVSInferencer: every_frame needs a video; {source.name} is one frame per second '
                             'already')
        clip_length = self.sampling['clip_length']
        aux = self._aux_sources(source)
        info = check_video(source.video, self.sampling['frame_offset'])
        wave = self._source_wave(source)
        block_seconds = clip_length
        second_of = np.floor(info.frame_times + 1e-6).astype(np.int64)
        num_blocks = int(second_of[-1]) // block_seconds + 1
        frames = iter_video_frames(source.video)
        pending = None
        clip = 0
        for block in range(num_blocks):
            first = block * block_seconds
            decoded = []
            while True:
                frame = pending if pending is not None else next(frames, None)
                pending = None
                if frame is None:
                    break
                if int(np.floor(frame.time + 1e-6)) >= first + block_seconds:
                    pending = frame
                    break
                decoded.append(frame)
            if not decoded:
                continue
            by_second: Dict[int, list] = {}
            for frame in decoded:
                by_second.setdefault(int(np.floor(frame.time + 1e-6)) - first, []).append(frame)
            present = sorted(by_second)
            last_second = present[-1]
            for rank in range(max(len(v) for v in by_second.values())):
                chosen, meta = [], []
                for k in range(last_second + 1):
                    # a second without frames (frame rate below 1 fps) borrows the nearest one as context
                    in_second = by_second.get(k) or by_second[min(present, key=lambda s: abs(s - k))]
                    frame = in_second[min(rank, len(in_second) - 1)]
                    chosen.append(frame)
                    meta.append(dict(source_index=index, source_name=source.name, frame_index=frame.index,
                                     frame_time=frame.time, second=-1,
                                     is_output=k in by_second and rank < len(by_second[k])))
                times = [f.time for f in chosen]
                loader = self._loader.audio_loader
                # waveform loaders (LoadClipWaveform) take the window centred on each frame, VGGish ones its log-mel
                audio = centred_windows(wave, times, loader.WINDOW) if isinstance(loader, LoadClipWaveform) \
                    else centred_log_mel(wave, times)
                yield self._make_item(source, index, f'{source.name}_clip{clip}', [f.image for f in chosen], None,
                                      [f'{f.index:06d}' for f in chosen], [f.index for f in chosen], meta, aux,
                                      None, audio)
                clip += 1

    def preprocess(self, inputs: List[MediaSource], batch_size: int = 1, every_frame: bool = False, **kwargs):
        """Yield collated batches of ``batch_size`` clips (all inputs one after the other)."""
        def items():
            for index, source in enumerate(inputs):
                make = self._every_frame_items if every_frame else self._sampled_items
                for item in make(source, index):
                    meta = item.pop('_meta')
                    packed = self.pipeline(item)
                    for sample, frame_meta in zip(packed['data_samples'], meta):
                        sample.set_metainfo(frame_meta)
                    yield packed

        for chunk in self._get_chunk_data(items(), batch_size):
            yield self.collate_fn(chunk)

    @torch.no_grad()
    def forward(self, inputs: dict, return_probs: bool = False, **kwargs) -> List[SegDataSample]:
        """Run the model on one batch; returns the data samples of the frames to output (padded frames and
        context-only frames are dropped; ``seg_logits`` only with ``return_probs``)."""
        outputs = []
        for sample in self.model.test_step(inputs):
            if sample.metainfo.get('is_padded') or not sample.metainfo.get('is_output', True):
                continue
            if not return_probs and 'seg_logits' in sample:
                del sample.seg_logits
            outputs.append(sample)
        return outputs

    def __call__(self,
                 inputs: InputsType,
                 return_datasamples: bool = False,
                 batch_size: int = 1,
                 every_frame: bool = False,
                 return_probs: bool = False,
                 return_vis: bool = False,
                 show: bool = False,
                 wait_time: float = 0,
                 out_dir: str = '',
                 img_out_dir: str = 'vis',
                 pred_out_dir: str = 'pred',
                 **kwargs) -> dict:
        """Segment the inputs.

        Args:
            inputs: one input or a list (see the class docstring).
            return_datasamples: return the per-frame ``SegDataSample`` list instead of the dicts.
            batch_size: clips per forward pass.
            every_frame: segment every video frame instead of one per second.
            return_probs: also return the soft maps (``probs``).
            return_vis: also return the drawn frames (``visualization``).
            show: show each drawn frame in a window.
            wait_time: seconds each shown frame stays.
            out_dir: when given, drawn frames go to ``{out_dir}/{img_out_dir}/{name}/{frame_index:06d}.png`` and
                masks to ``{out_dir}/{pred_out_dir}/{name}/{frame_index:06d}.png`` (binary models 0/255, semantic
                ones class indices).
            img_out_dir, pred_out_dir: sub-folders of ``out_dir``.
        """
        if out_dir:
            img_out_dir, pred_out_dir = osp.join(out_dir, img_out_dir), osp.join(out_dir, pred_out_dir)
        else:
            img_out_dir = pred_out_dir = ''
        return super().__call__(inputs, return_datasamples=return_datasamples, batch_size=batch_size,
                                every_frame=every_frame, return_probs=return_probs, return_vis=return_vis, show=show,
                                wait_time=wait_time, img_out_dir=img_out_dir, pred_out_dir=pred_out_dir, **kwargs)

    def iter_predictions(self, source: InputType, every_frame: bool = False, batch_size: int = 1,
                         return_probs: bool = False) -> Iterator[SegDataSample]:
        """Stream the per-frame data samples of one input as the batches are predicted (for long videos: nothing
        but the current batch is kept). Sampled frames come in time order; with ``every_frame`` each block of
        ``clip_length`` seconds comes clip by clip (frame ``frame_index`` is in the metainfo)."""
        sources = self._inputs_to_list([source])
        for data in self.preprocess(sources, batch_size=batch_size, every_frame=every_frame):
            yield from self.forward(data, return_probs=return_probs)

    # ------------------------------------------------------------------ outputs
    def frames_of(self, source: MediaSource, frame_indices: Sequence[int]) -> Dict[int, np.ndarray]:
        """RGB images of some frames of a source, by frame index."""
        wanted = set(int(i) for i in frame_indices)
        if source.kind == 'video':
            images = {}
            for frame in iter_video_frames(source.video):
                if frame.index in wanted:
                    images[frame.index] = frame.image
                if len(images) == len(wanted):
                    break
            return images
        if source.frame_arrays is not None:
            return {i: source.frame_arrays[i] for i in wanted}
        return {i: mmcv.imread(source.frame_paths[i], channel_order='rgb') for i in wanted}

    def visualize(self,
                  inputs: List[MediaSource],
                  preds: List[SegDataSample],
                  return_vis: bool = False,
                  show: bool = False,
                  wait_time: float = 0,
                  img_out_dir: str = '',
                  with_labels: Optional[bool] = None) -> Optional[List[np.ndarray]]:
        """Draw each predicted frame with the config's ``AVSLocalVisualizer`` (the drawing of
        ``tools/test.py --show-dir``); returns the drawings when ``return_vis``."""
        if not show and not img_out_dir and not return_vis:
            return None
        drawn: List[Optional[np.ndarray]] = [None] * len(preds)
        by_source: Dict[int, List[int]] = {}
        for i, pred in enumerate(preds):
            by_source.setdefault(pred.metainfo['source_index'], []).append(i)
        for source_index, positions in by_source.items():
            source = inputs[source_index]
            images = self.frames_of(source, [preds[i].metainfo['frame_index'] for i in positions])
            for i in positions:
                meta = preds[i].metainfo
                name = f'{source.name}/{meta["frame_index"]:06d}'
                out_file = osp.join(img_out_dir, name + '.png') if img_out_dir else None
                drawn[i] = self.visualizer.add_datasample(
                    name, images[meta['frame_index']], preds[i], draw_gt=False, show=show, wait_time=wait_time,
                    out_file=out_file, with_labels=with_labels)
        return drawn if return_vis else None

    def _probs(self, sample: SegDataSample) -> np.ndarray:
        logits = sample.seg_logits.data.float()
        if logits.shape[0] == 1:  # mmseg's postprocess_result stores sigmoid probabilities for one channel
            return logits[0].cpu().numpy()
        probs = torch.softmax(logits, dim=0)
        return (probs[1] if self.model.num_classes == 2 else probs).cpu().numpy()

    def postprocess(self,
                    preds: List[SegDataSample],
                    visualization: Optional[List[np.ndarray]],
                    return_datasample: bool = False,
                    pred_out_dir: str = '') -> Union[dict, list]:
        """Group the frames by input into the result dicts (see the class docstring); write the masks."""
        if return_datasample:
            return preds
        grouped: Dict[int, List[int]] = {}
        for i, pred in enumerate(preds):
            grouped.setdefault(pred.metainfo['source_index'], []).append(i)
        classes, palette = self.model.dataset_meta['classes'], self.model.dataset_meta['palette']
        results, visuals = [], []
        for source_index in sorted(grouped):
            positions = sorted(grouped[source_index],
                               key=lambda i: (preds[i].metainfo['frame_index'], preds[i].metainfo['second']))
            metas = [preds[i].metainfo for i in positions]
            masks = np.stack([preds[i].pred_sem_seg.data[0].cpu().numpy().astype(np.uint8) for i in positions])
            result = dict(name=metas[0]['source_name'], masks=masks,
                          frame_indices=np.array([m['frame_index'] for m in metas], np.int64),
                          times=np.array([m['frame_time'] for m in metas], np.float64),
                          seconds=np.array([m['second'] for m in metas], np.int64), classes=classes, palette=palette)
            if all('seg_logits' in preds[i] for i in positions):
                result['probs'] = np.stack([self._probs(preds[i]) for i in positions]).astype(np.float32)
            if pred_out_dir:
                for mask, meta in zip(masks, metas):
                    value = mask * np.uint8(255) if len(classes) == 2 else mask
                    mmcv.imwrite(value, osp.join(pred_out_dir, result['name'], f'{meta["frame_index"]:06d}.png'))
            results.append(result)
            if visualization is not None:
                visuals.append([visualization[i] for i in positions])
        if len(results) == 1:
            return dict(predictions=results[0], visualization=visuals[0] if visuals else [])
        return dict(predictions=results, visualization=visuals)
