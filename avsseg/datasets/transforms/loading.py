"""Loading a clip: its frames, its masks and its audio (official ``.pkl`` log-mel or any waveform)."""
import math
import os
import tempfile
import threading
import warnings
import zlib
from typing import Dict, List, Optional, Sequence

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio

from avsseg.registry import TRANSFORMS
from ..audio import clip_log_mel, load_audio, load_log_mel_pkl, to_mono_16k
from ..avsbench_semantic_dataset import avss_palette

#: VGGish's log offset: the log-mel of silence is ``log(0 + 0.01)``.
SILENCE_LOG_MEL = math.log(0.01)

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
JPEG_SIGNATURE = b'\xff\xd8\xff'
#: libjpeg warnings that mean the entropy-coded data is damaged (libjpeg substitutes grey or garbage blocks and
#: goes on). Other libjpeg warnings (e.g. an unknown JFIF revision) leave the picture intact.
JPEG_CORRUPTION_MESSAGES = ('Corrupt JPEG data', 'Premature end of JPEG file', 'Inconsistent progression sequence')


def _read_bytes(path: str, what: str, clip_id, backend_args: Optional[dict]) -> bytes:
    try:
        return fileio.get(path, backend_args=backend_args)
    except FileNotFoundError as err:
        raise FileNotFoundError(f'{what} of clip {clip_id} not found: {path}') from err
    except OSError as err:
        raise OSError(f'cannot read {what} of clip {clip_id} ({path}): {err}') from err


def png_structure_problem(content: bytes) -> Optional[str]:
    """Why ``content`` is not a complete, intact PNG (``None`` when it is).

    Walks the chunk list from the signature to ``IEND``, checking that every chunk fits in the data and that its
    CRC matches. PIL decodes a PNG that lost its end (the ``IEND`` chunk, or the end of the last ``IDAT``)
    without complaint, and neither decoder checks every chunk's CRC. Bytes after ``IEND`` are allowed.

    Args:
        content: the file's bytes, starting with the PNG signature.
    """
    view = memoryview(content)
    pos, size = len(PNG_SIGNATURE), len(content)
    while True:
        if pos + 8 > size:
            return f'truncated PNG: the data ends after {size} bytes, before the IEND chunk'
        length = int.from_bytes(view[pos:pos + 4], 'big')
        kind = bytes(view[pos + 4:pos + 8]).decode('latin-1')
        end = pos + 12 + length
        if end > size:
            return (f'truncated PNG: chunk {kind} at byte {pos} holds {length} bytes but the data ends after '
                    f'{size} bytes')
        if zlib.crc32(view[pos + 4:end - 4]) != int.from_bytes(view[end - 4:end], 'big'):
            return f'corrupt PNG: CRC mismatch in chunk {kind} at byte {pos}'
        if kind == 'IEND':
            return None
        pos = end


class _DecoderMessages:
    """Collects what C decoders print on the process's standard error (file descriptor 2) while active.

    libjpeg reports corrupt entropy-coded data only as a warning printed on stderr, then returns a picture with
    garbage blocks; no decoder available here (OpenCV, PIL, torchvision) exposes the warning to Python, so it is
    read from the file descriptor. ``corruption`` is the first line naming damaged data
    (:data:`JPEG_CORRUPTION_MESSAGES`), or None; every other line is written back to stderr on exit, so nothing
    else is swallowed. A lock keeps threads of one process from redirecting the descriptor at the same time. A
    process whose descriptor 2 cannot be redirected (closed) decodes without the check, after one warning.
    """

    _lock = threading.Lock()
    #: One scratch file per process (a forked child must not share its parent's file offset), emptied per use.
    _scratch: Dict[int, int] = {}
    _warned_pids: set = set()

    def __enter__(self) -> '_DecoderMessages':
        self.corruption: Optional[str] = None
        self._active = False
        self._lock.acquire()
        try:
            pid = os.getpid()
            if pid not in self._scratch:
                fd, name = tempfile.mkstemp(prefix='avsseg_decoder_messages_')
                os.unlink(name)
                self._scratch[pid] = fd
            self._fd = self._scratch[pid]
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
            self._saved = os.dup(2)
            os.dup2(self._fd, 2)
            self._active = True
        except OSError as err:
            self._lock.release()
            if os.getpid() not in self._warned_pids:
                self._warned_pids.add(os.getpid())
                warnings.warn(f'cannot read the JPEG decoder\'s messages from stderr ({err}); JPEG frames are decoded '
                              'without the corrupt-data check in this process')
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if not self._active:
            return
        try:
            os.dup2(self._saved, 2)
            os.close(self._saved)
            size = os.lseek(self._fd, 0, os.SEEK_CUR)
            os.lseek(self._fd, 0, os.SEEK_SET)
            text = os.read(self._fd, size).decode('utf-8', 'replace') if size else ''
        finally:
            self._lock.release()
        other = []
        for line in text.splitlines():
            if self.corruption is None and line.strip().startswith(JPEG_CORRUPTION_MESSAGES):
                self.corruption = line.strip()
            elif line.strip():
                other.append(line)
        if other:
            os.write(2, ('\n'.join(other) + '\n').encode('utf-8', 'replace'))


def _decode(content: bytes, path: str, what: str, clip_id, **kwargs) -> np.ndarray:
    """Decode an image with ``mmcv.imfrombytes(content, **kwargs)``; damaged data is an error naming the file.

    PNG data is checked chunk by chunk first (:func:`png_structure_problem`). JPEG data is decoded while libjpeg's
    messages are collected (:class:`_DecoderMessages`): with the ``cv2`` backend that is the decode itself, with
    another backend (PIL prints nothing) OpenCV decodes the data once more only to check it.
    """
    prefix = f'cannot decode {what} of clip {clip_id} ({path})'
    if content[:len(PNG_SIGNATURE)] == PNG_SIGNATURE:
        problem = png_structure_problem(content)
        if problem is not None:
            raise ValueError(f'{prefix}: {problem}')
    messages = None
    try:
        if content[:len(JPEG_SIGNATURE)] == JPEG_SIGNATURE:
            with _DecoderMessages() as messages:
                img = mmcv.imfrombytes(content, **kwargs)
                if kwargs.get('backend') != 'cv2':
                    cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_UNCHANGED)
        else:
            img = mmcv.imfrombytes(content, **kwargs)
    except Exception as err:  # cv2/PIL raise many types on corrupt data
        if messages is not None and messages.corruption is not None:
            raise ValueError(f'{prefix}: corrupt JPEG data (libjpeg: "{messages.corruption}")') from err
        if isinstance(err, cv2.error):  # mmcv converts the colours of the None that cv2.imdecode returned
            raise ValueError(f'{prefix}: not a readable image (OpenCV cannot decode it)') from err
        raise ValueError(f'{prefix}: {err}') from err
    if messages is not None and messages.corruption is not None:
        raise ValueError(f'{prefix}: corrupt JPEG data (libjpeg: "{messages.corruption}"); decoding would give a '
                         'damaged picture')
    if img is None:
        raise ValueError(f'{prefix}: not a readable image')
    return img


@TRANSFORMS.register_module()
class LoadClipFrames(BaseTransform):
    """Load the T frames of a clip as RGB.

    Required keys: ``img_paths`` (T paths, ``None`` for padded frames), ``clip_id``.

    Added keys: ``imgs`` (list of T ``uint8`` (or ``float32``) ``[H, W, 3]`` RGB arrays; padded frames are zeros
    of the clip's size), ``img_shape`` and ``ori_shape`` (``(H, W)``, one for the clip).

    Damaged files are errors naming the file, with either backend: a truncated or corrupt PNG (every chunk and
    its CRC are checked), a truncated JPEG, and a JPEG whose compressed data libjpeg reports as corrupt (it would
    otherwise decode to a picture with garbage blocks and only a line on stderr).

    Args:
        to_float32: return ``float32`` frames instead of ``uint8``.
        imdecode_backend: mmcv decoding backend (``'cv2'`` or ``'pillow'``).
        backend_args: mmengine file backend arguments.
    """

    def __init__(self,
                 to_float32: bool = False,
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None):
        self.to_float32 = to_float32
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args

    def transform(self, results: Dict) -> Dict:
        paths = results['img_paths']
        clip_id = results.get('clip_id')
        imgs: List[Optional[np.ndarray]] = []
        for t, path in enumerate(paths):
            if path is None:
                imgs.append(None)
                continue
            content = _read_bytes(path, f'frame {t}', clip_id, self.backend_args)
            imgs.append(
                _decode(content, path, f'frame {t}', clip_id, flag='color', channel_order='rgb',
                        backend=self.imdecode_backend))
        real = [(p, img.shape[:2]) for p, img in zip(paths, imgs) if img is not None]
        if not real:
            raise ValueError(f'LoadClipFrames: clip {clip_id} has no real frame (all {len(paths)} are padding)')
        shapes = {shape for _, shape in real}
        if len(shapes) != 1:
            listing = ', '.join(f'{p} {s[0]}x{s[1]}' for p, s in real)
            raise ValueError(f'LoadClipFrames: frames of clip {clip_id} differ in size (H x W): {listing}')
        shape = real[0][1]
        dtype = np.float32 if self.to_float32 else np.uint8
        results['imgs'] = [
            np.zeros((*shape, 3), dtype) if img is None else img.astype(dtype, copy=False) for img in imgs
        ]
        results['img_shape'] = shape
        results['ori_shape'] = shape
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f'imdecode_backend={self.imdecode_backend!r})')


@TRANSFORMS.register_module()
class LoadClipAnnotations(BaseTransform):
    """Load the masks of a clip; frames without a label get ``ignore_index`` everywhere.

    Decoding follows ``label_format`` (argument, else ``results['label_format']``, else ``'binary'``):

    - ``'binary'``: 0/255 (or 0/1) PNGs -> 0/1 (multi-channel PNGs use the channel maximum); any other value
      (grey edges of a mask saved as JPEG or resized with interpolation) is an error naming the file;
    - ``'palette_rgb'``: AVSS ``labels_rgb`` colour PNGs; each colour is looked up in the palette (``palette``,
      else :func:`avss_palette` of ``num_classes``), an unknown colour is an error;
    - ``'index'``: single-channel index PNGs (AVSS ``labels_semantic``); values must be below ``num_classes``
      or equal ``ignore_index``.

    Damaged files are errors naming the file, as in :class:`LoadClipFrames`.

    Required keys: ``seg_map_paths`` (T paths or ``None``), ``imgs`` (from :class:`LoadClipFrames`, for the
    size of unlabelled frames and the size check), ``img_paths``.

    Added keys: ``gt_seg_maps`` (list of T ``uint8`` ``[H, W]``).

    Args:
        label_format: override of ``results['label_format']``.
        ignore_index: label of unlabelled frames.
        palette: ``[[r, g, b], ...]`` of class colours for ``'palette_rgb'``.
        num_classes: number of classes (else ``results['num_classes']``) for the palette and value checks.
        imdecode_backend: mmcv decoding backend; ``'pillow'`` keeps palette-mode PNGs as indices.
        backend_args: mmengine file backend arguments.
    """

    LABEL_FORMATS = ('binary', 'palette_rgb', 'index')

    def __init__(self,
                 label_format: Optional[str] = None,
                 ignore_index: int = 255,
                 palette: Optional[Sequence[Sequence[int]]] = None,
                 num_classes: Optional[int] = None,
                 imdecode_backend: str = 'pillow',
                 backend_args: Optional[dict] = None):
        if label_format is not None and label_format not in self.LABEL_FORMATS:
            raise ValueError(f'LoadClipAnnotations: label_format must be one of {self.LABEL_FORMATS}, '
                             f'got {label_format!r}')
        if not 0 <= ignore_index <= 255:
            raise ValueError(f'LoadClipAnnotations: ignore_index must fit uint8, got {ignore_index}')
        self.label_format = label_format
        self.ignore_index = ignore_index
        self.palette = None if palette is None else np.asarray(palette, dtype=np.int64).reshape(-1, 3)
        self.num_classes = num_classes
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args

    def _palette_lookup(self, num_classes: Optional[int]):
        palette = self.palette
        if palette is None:
            if num_classes is None:
                raise ValueError('LoadClipAnnotations: palette_rgb masks need `palette` or `num_classes` '
                                 '(argument or results["num_classes"])')
            palette = np.asarray(avss_palette(num_classes), dtype=np.int64)
        codes = (palette[:, 0] << 16) | (palette[:, 1] << 8) | palette[:, 2]
        if len(np.unique(codes)) != len(codes):
            raise ValueError('LoadClipAnnotations: the palette repeats a colour')
        order = np.argsort(codes)
        return codes[order], order

    def _decode_palette(self, rgb: np.ndarray, path: str, clip_id, lookup) -> np.ndarray:
        codes_sorted, labels_sorted = lookup
        rgb = rgb.astype(np.int64)
        code = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        pos = np.clip(np.searchsorted(codes_sorted, code), 0, len(codes_sorted) - 1)
        known = codes_sorted[pos] == code
        if not known.all():
            bad = np.unique(code[~known])
            colours = [((c >> 16) & 255, (c >> 8) & 255, c & 255) for c in bad[:5].tolist()]
            raise ValueError(f'LoadClipAnnotations: mask {path} of clip {clip_id} has {int((~known).sum())} '
                             f'pixel(s) of colours not in the {len(codes_sorted)}-class palette, e.g. RGB '
                             f'{colours}')
        return labels_sorted[pos].astype(np.uint8)

    @staticmethod
    def _decode_binary(raw: np.ndarray, path: str, clip_id) -> np.ndarray:
        """0/1 ``uint8`` ``[H, W]`` from a 0/255 (16-bit: 0/65535) or 0/1 mask; colour channels (alpha is left
        out) use their maximum. Any other value is an error naming the file."""
        values = raw if raw.ndim == 2 else raw[..., :3]
        if values.dtype == bool:  # 1-bit PNGs
            values = values.astype(np.uint8)
        if not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f'LoadClipAnnotations: binary mask {path} of clip {clip_id} must hold integers, got '
                             f'{values.dtype}')
        high = 1 if values.max(initial=0) <= 1 else np.iinfo(values.dtype).max
        bad = (values != 0) & (values != high)
        if bad.ndim == 3:
            bad = bad.any(axis=-1)
        if bad.any():
            found = np.unique(values).tolist()
            raise ValueError(
                f'LoadClipAnnotations: binary mask {path} of clip {clip_id} must hold only 0 and {high} (or 0 and '
                f'1), but {int(bad.sum())} pixel(s) are neither (values found: {found[:8]}'
                f'{" ..." if len(found) > 8 else ""}); grey values come from saving a mask as JPEG or resizing it '
                'with interpolation')
        gray = values if values.ndim == 2 else values.max(axis=-1)
        return (gray > 0).astype(np.uint8)

    def transform(self, results: Dict) -> Dict:
        clip_id = results.get('clip_id')
        if 'imgs' not in results:
            raise KeyError(f'LoadClipAnnotations: clip {clip_id} has no `imgs`; put LoadClipFrames first')
        seg_paths = results['seg_map_paths']
        img_paths = results.get('img_paths', [None] * len(seg_paths))
        imgs = results['imgs']
        if len(seg_paths) != len(imgs):
            raise ValueError(f'LoadClipAnnotations: clip {clip_id} has {len(imgs)} frames but {len(seg_paths)} '
                             f'mask entries (frame/mask count mismatch): {seg_paths}')
        label_format = self.label_format or results.get('label_format', 'binary')
        if label_format not in self.LABEL_FORMATS:
            raise ValueError(f'LoadClipAnnotations: clip {clip_id} has unknown label_format {label_format!r}')
        num_classes = self.num_classes if self.num_classes is not None else results.get('num_classes')
        lookup = self._palette_lookup(num_classes) if label_format == 'palette_rgb' else None
        shape = imgs[0].shape[:2]
        maps = []
        for t, path in enumerate(seg_paths):
            if path is None:
                maps.append(np.full(shape, self.ignore_index, np.uint8))
                continue
            content = _read_bytes(path, f'mask {t}', clip_id, self.backend_args)
            if label_format == 'palette_rgb':
                raw = _decode(content, path, f'mask {t}', clip_id, flag='color', channel_order='rgb',
                              backend=self.imdecode_backend)
            else:
                raw = _decode(content, path, f'mask {t}', clip_id, flag='unchanged', backend=self.imdecode_backend)
            if raw.shape[:2] != shape:
                raise ValueError(f'LoadClipAnnotations: mask {path} is {raw.shape[0]}x{raw.shape[1]} but frame '
                                 f'{img_paths[t]} of clip {clip_id} is {shape[0]}x{shape[1]} (H x W)')
            if label_format == 'binary':
                seg = self._decode_binary(raw, path, clip_id)
            elif label_format == 'palette_rgb':
                seg = self._decode_palette(raw, path, clip_id, lookup)
            else:
                if raw.ndim != 2:
                    raise ValueError(f'LoadClipAnnotations: index mask {path} of clip {clip_id} must be '
                                     f'single-channel, got shape {raw.shape}')
                seg = raw
                if num_classes is not None:
                    bad = (seg >= num_classes) & (seg != self.ignore_index)
                    if bad.any():
                        raise ValueError(f'LoadClipAnnotations: index mask {path} of clip {clip_id} has values '
                                         f'{np.unique(seg[bad])[:5].tolist()} outside 0..{num_classes - 1} '
                                         f'(ignore_index {self.ignore_index})')
                seg = seg.astype(np.uint8)
            maps.append(seg)
        results['gt_seg_maps'] = maps
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(label_format={self.label_format!r}, '
                f'ignore_index={self.ignore_index}, num_classes={self.num_classes})')


@TRANSFORMS.register_module()
class LoadClipAudio(BaseTransform):
    """Load a clip's audio as VGGish log-mel examples, one per real frame.

    ``audio_path`` ending in ``.pkl`` is the official pickled log-mel tensor ``[K, 1, 96, 64]``; anything else
    is decoded as a waveform (any rate and channel count), downmixed to mono, resampled to 16 kHz and turned
    into one 0.96 s VGGish example per second. Missing examples at the end of short audio are padded as
    ``pad_mode`` says, with a warning naming the file; padded frames (``frame_flags['is_padded']``, at the end
    of AVSS clips) get zero log-mel, as the official AVSS loader zero-pads to 10 examples.

    Hook for waveform-level changes: when an earlier step put ``audio_waveform`` (float32 ``[samples]``, mono,
    16 kHz) in the results, that waveform is turned into log-mel instead of reading ``audio_path``
    (:class:`ClipAudioPerturbation`, run by :class:`~avsseg.datasets.AudioPerturbedDataset`, uses it for the
    test-time audio perturbations). A clip carrying ``audio_perturbation`` that was never applied
    (no ``audio_perturbation_applied``) is refused rather than loaded clean.

    Required keys: ``audio_path``, ``num_frames`` (or ``imgs``), optional ``frame_flags``, ``audio_waveform``,
    ``audio_waveform_source`` (named in warnings and errors about it).

    Added keys: ``audio`` (float32 ``[T, 1, 96, 64]``). Removed keys: ``audio_waveform``,
    ``audio_waveform_source``.

    Args:
        pad_mode: how missing examples of short audio are filled: ``'repeat'`` the last (official S4/MS3
            preprocessing) or ``'zero'``.
    """

    def __init__(self, pad_mode: str = 'repeat'):
        if pad_mode not in ('repeat', 'zero'):
            raise ValueError(f"LoadClipAudio: pad_mode must be 'repeat' or 'zero', got {pad_mode!r}")
        self.pad_mode = pad_mode

    def _log_mel(self, path: str, num_segments: int) -> np.ndarray:
        if path.lower().endswith('.pkl'):
            return load_log_mel_pkl(path, num_segments, pad_mode=self.pad_mode)
        wave, sr = load_audio(path)
        return clip_log_mel(to_mono_16k(wave, sr), num_segments, path=path, pad_mode=self.pad_mode)

    def transform(self, results: Dict) -> Dict:
        clip_id = results.get('clip_id')
        path = results['audio_path']
        wave = results.pop('audio_waveform', None)
        source = results.pop('audio_waveform_source', None) or f'waveform given for {path}'
        if results.get('audio_perturbation') is not None and not results.get('audio_perturbation_applied'):
            raise ValueError(f'LoadClipAudio: clip {clip_id} carries audio_perturbation='
                             f'{results["audio_perturbation"]!r} but it was not applied; wrap the dataset in '
                             'AudioPerturbedDataset (tools/test.py --audio-perturb does)')
        num_frames = results.get('num_frames', len(results.get('imgs', ())))
        if not num_frames:
            raise KeyError(f'LoadClipAudio: clip {clip_id} gives neither num_frames nor imgs')
        padded = list(results.get('frame_flags', {}).get('is_padded', [False] * num_frames))
        num_real = num_frames - sum(padded)
        if any(padded[:num_real]) or num_real < 1:
            raise ValueError(f'LoadClipAudio: clip {clip_id} must have its padded frames at the end, got '
                             f'is_padded={padded}')
        if wave is None:
            mel = self._log_mel(path, num_real)
        else:
            mel = clip_log_mel(wave, num_real, path=source, pad_mode=self.pad_mode)
        if num_real < num_frames:
            mel = np.concatenate([mel, np.zeros((num_frames - num_real, ) + mel.shape[1:], np.float32)])
        results['audio'] = np.ascontiguousarray(mel, dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(pad_mode={self.pad_mode!r})'
