"""Reading and writing videos with their sound through PyAV (its wheel bundles FFmpeg; no system FFmpeg needed).

- :func:`probe_video` reads a video's frame count, frame times and duration from its packets (no decoding);
- :func:`iter_video_frames` decodes the frames in presentation order as RGB arrays with their times;
- :class:`VideoWriter` encodes RGB frames to H.264 at the times given and carries the audio track of another file
  over: packets are copied unchanged when the output container takes the codec, else re-encoded to AAC;
- :func:`list_frame_files` lists a folder of frames in natural order (``x_2.png`` before ``x_10.png``).

Times are seconds from the first video frame (a stream's start offset, e.g. 0.021 s after AAC priming, is
removed).
"""
import os
import os.path as osp
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterator, List, Optional, Tuple

import numpy as np

#: Containers the video demo and the inferencer recognise as videos (anything PyAV opens works).
VIDEO_EXTENSIONS = ('.mp4', '.m4v', '.mkv', '.webm', '.mov', '.avi')
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff')
#: Audio codecs an mp4 / mov file can carry as they are; others are re-encoded to AAC by :class:`VideoWriter`.
MP4_AUDIO_COPY = frozenset({'aac', 'mp3', 'alac', 'ac3', 'eac3', 'opus', 'flac'})
MOV_AUDIO_COPY = MP4_AUDIO_COPY | {'pcm_s16le', 'pcm_s24le', 'pcm_f32le'}


def _av():
    import av  # imported lazily: only video paths need it
    return av


@dataclass
class VideoInfo:
    """What :func:`probe_video` finds in a video file.

    Attributes:
        path: the file.
        width, height: frame size in pixels.
        num_frames: number of video frames (packets with a timestamp).
        frame_times: float64 ``[num_frames]`` presentation times in seconds from the first frame, sorted.
        duration: seconds from the first frame to the end of the last one.
        fps: average frame rate (``Fraction``), from the container or, without one, from the frame times.
        time_base: the video stream's time base.
        has_audio: whether the file has an audio stream.
        audio_codec: name of the first audio stream's codec (None without audio).
    """
    path: str
    width: int
    height: int
    num_frames: int
    frame_times: np.ndarray = field(repr=False)
    duration: float
    fps: Fraction
    time_base: Fraction
    has_audio: bool
    audio_codec: Optional[str]


def _open(path: str):
    path = os.fspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'video file not found: {path!r}')
    av = _av()
    try:
        container = av.open(path)
    except av.error.FFmpegError as err:
        raise RuntimeError(f'cannot open video file {path!r}: {err}') from err
    if not container.streams.video:
        container.close()
        raise ValueError(f'{path!r} has no video stream')
    return container


def probe_video(path: str) -> VideoInfo:
    """Frame count, frame times and duration of a video, read from its packets (nothing is decoded).

    Raises:
        FileNotFoundError: no such file.
        RuntimeError: PyAV cannot open or demux it.
        ValueError: it has no video stream, or the video stream holds no frame.
    """
    av = _av()
    container = _open(path)
    with container:
        stream = container.streams.video[0]
        time_base = stream.time_base
        starts: List[int] = []
        ends: List[int] = []
        try:
            for packet in container.demux(stream):
                if packet.pts is None:  # the demuxer's flush packet
                    continue
                starts.append(packet.pts)
                ends.append(packet.pts + (packet.duration or 0))
        except av.error.FFmpegError as err:
            raise RuntimeError(f'cannot read the video stream of {path!r}: {err}') from err
        if not starts:
            raise ValueError(f'the video stream of {path!r} holds no frame')
        pts = np.sort(np.asarray(starts, np.int64))
        first = int(pts[0])
        times = (pts - first).astype(np.float64) * float(time_base)
        rate = stream.average_rate or stream.guessed_rate
        if not rate and len(times) > 1:
            rate = Fraction(len(times) - 1, 1) / Fraction(times[-1]).limit_denominator(100000)
        rate = Fraction(rate) if rate else Fraction(1)
        # a packet without a duration (some containers) lasts one average frame
        last_end = max(max(ends) - first, int(pts[-1]) - first) * float(time_base)
        if last_end <= times[-1]:
            last_end = times[-1] + 1.0 / float(rate)
        audio = container.streams.audio
        return VideoInfo(
            path=os.fspath(path),
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            num_frames=len(times),
            frame_times=times,
            duration=float(last_end),
            fps=rate,
            time_base=time_base,
            has_audio=bool(audio),
            audio_codec=audio[0].codec_context.name if audio else None)


@dataclass
class DecodedFrame:
    """One decoded video frame: ``index`` (presentation order from 0), ``time`` (seconds from the first
    frame) and ``image`` (uint8 RGB ``[H, W, 3]``)."""
    index: int
    time: float
    image: np.ndarray = field(repr=False)


def iter_video_frames(path: str) -> Iterator[DecodedFrame]:
    """Decode every frame of a video's first video stream, in presentation order, as RGB.

    Raises:
        FileNotFoundError, RuntimeError, ValueError: as :func:`probe_video`; RuntimeError also for a frame that
            cannot be decoded (naming the file and the frame).
    """
    av = _av()
    container = _open(path)
    with container:
        stream = container.streams.video[0]
        stream.thread_type = 'AUTO'
        first = None
        index = 0
        try:
            for frame in container.decode(stream):
                if frame.pts is None:
                    time = index / float(stream.average_rate or 1)
                else:
                    if first is None:
                        first = frame.pts
                    time = float((frame.pts - first) * stream.time_base)
                yield DecodedFrame(index, time, frame.to_ndarray(format='rgb24'))
                index += 1
        except av.error.FFmpegError as err:
            raise RuntimeError(f'cannot decode frame {index} of {path!r}: {err}') from err
    if index == 0:
        raise ValueError(f'the video stream of {path!r} decodes to no frame')


def _natural_key(name: str) -> Tuple:
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r'(\d+)', name))


def list_frame_files(folder: str, extensions=IMAGE_EXTENSIONS, exclude_suffixes=('_mask_color.png', )) -> List[str]:
    """Image files of a folder (not its sub-folders) in natural order: ``f_2.png`` before ``f_10.png``.

    Files ending in one of ``exclude_suffixes`` (COMBO Maskiges written next to the frames) are left out.

    Raises:
        NotADirectoryError: ``folder`` is not a folder.
        FileNotFoundError: it holds no image.
    """
    folder = os.fspath(folder)
    if not osp.isdir(folder):
        raise NotADirectoryError(f'frame folder not found: {folder!r}')
    names = [
        n for n in os.listdir(folder)
        if n.lower().endswith(tuple(extensions)) and not n.endswith(tuple(exclude_suffixes))
        and osp.isfile(osp.join(folder, n))
    ]
    if not names:
        raise FileNotFoundError(f'frame folder {folder!r} holds no image ({", ".join(extensions)})')
    return [osp.join(folder, n) for n in sorted(names, key=_natural_key)]


def _pad_even(image: np.ndarray) -> np.ndarray:
    """H.264 in yuv420p needs even sides: repeat the last row / column when a side is odd."""
    height, width = image.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return image
    return np.pad(image, ((0, height % 2), (0, width % 2), (0, 0)), mode='edge')


class VideoWriter:
    """Encode RGB frames to an H.264 video at given times, carrying the audio track of another file over.

    Frames are written with :meth:`write` at their presentation time (seconds), so the output keeps the input's
    frame times (constant or variable frame rate). The first audio stream of ``audio_from`` is copied packet by
    packet, interleaved with the video, when the output container takes its codec (mp4 / mov: AAC, MP3, ALAC,
    AC-3, Opus, FLAC; mov also PCM; mkv: anything); otherwise it is decoded and re-encoded to AAC. Frames of odd
    width or height get one repeated row / column (yuv420p needs even sides).

    Args:
        path: output file (``.mp4``, ``.mov`` or ``.mkv``).
        fps: nominal frame rate (the stream's rate; the frame times come from :meth:`write`).
        audio_from: media file whose first audio stream goes into the output, or None for no sound.
        crf: x264 quality (0 lossless .. 51; 18 looks lossless).
        time_base: time base of the frame times (defaults to ``1 / (fps * 1000)``); the input video's keeps its
            timestamps exact.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self,
                 path: str,
                 fps: Fraction,
                 audio_from: Optional[str] = None,
                 crf: int = 18,
                 time_base: Optional[Fraction] = None):
        av = _av()
        self.path = os.fspath(path)
        ext = osp.splitext(self.path)[1].lower()
        if ext not in ('.mp4', '.m4v', '.mov', '.mkv'):
            raise ValueError(f'VideoWriter: write .mp4, .mov or .mkv, got {self.path!r}')
        parent = osp.dirname(osp.abspath(self.path))
        os.makedirs(parent, exist_ok=True)
        self.fps = Fraction(fps)
        if self.fps <= 0:
            raise ValueError(f'VideoWriter: fps must be positive, got {fps}')
        self.time_base = Fraction(time_base) if time_base else 1 / (self.fps * 1000)
        self.crf = int(crf)
        self._container = av.open(self.path, 'w')
        self._video = None
        self._size = None
        self._last_pts = None
        self._audio_in = None
        self._audio_packets = None
        self._audio_out = None
        self._audio_copy = False
        self._pending_audio = None
        if audio_from is not None:
            self._open_audio(os.fspath(audio_from), ext)

    # ------------------------------------------------------------------ audio
    def _open_audio(self, source: str, ext: str) -> None:
        av = _av()
        try:
            self._audio_in = av.open(source)
        except av.error.FFmpegError as err:
            raise RuntimeError(f'VideoWriter: cannot open {source!r} for its audio: {err}') from err
        if not self._audio_in.streams.audio:
            self._audio_in.close()
            raise ValueError(f'VideoWriter: {source!r} has no audio stream to carry over')
        stream = self._audio_in.streams.audio[0]
        codec = stream.codec_context.name
        allowed = MOV_AUDIO_COPY if ext == '.mov' else MP4_AUDIO_COPY if ext in ('.mp4', '.m4v') else None
        self._audio_copy = allowed is None or codec in allowed
        self._audio_source = source
        self._audio_stream_in = stream
        if self._audio_copy:
            self._audio_out = self._container.add_stream_from_template(stream)
            self._audio_packets = self._audio_in.demux(stream)
        else:
            # a wav without a channel mask reports a layout named '1 channels', which the AAC encoder refuses
            layout = 'mono' if stream.layout.nb_channels == 1 else 'stereo'
            self._audio_out = self._container.add_stream('aac', rate=stream.rate, layout=layout)
            self._audio_packets = self._reencoded_packets(stream)
        self._audio_start = stream.start_time or 0

    def _reencoded_packets(self, stream) -> Iterator:
        av = _av()
        resampler = av.AudioResampler(format='fltp', layout=self._audio_out.layout, rate=self._audio_out.rate)
        samples = 0

        def numbered(frames):
            # timestamps counted in samples from 0 let the muxer record the encoder's priming delay, so the
            # output decodes to the input's length
            nonlocal samples
            for frame in frames:
                frame.pts, frame.time_base = samples, Fraction(1, self._audio_out.rate)
                samples += frame.samples
                yield frame

        try:
            for frame in self._audio_in.decode(stream):
                frame.pts = None
                for out_frame in numbered(resampler.resample(frame)):
                    yield from self._audio_out.encode(out_frame)
            for out_frame in numbered(resampler.resample(None)):
                yield from self._audio_out.encode(out_frame)
            yield from self._audio_out.encode(None)
        except av.error.FFmpegError as err:
            raise RuntimeError(f'VideoWriter: cannot re-encode the audio of {self._audio_source!r}: {err}') from err

    def _packet_time(self, packet) -> float:
        if packet.dts is None:
            return float('inf')
        start = self._audio_start if self._audio_copy else 0
        return float((packet.dts - start) * packet.time_base)

    def _mux_audio_until(self, time: Optional[float]) -> None:
        """Mux audio packets up to ``time`` seconds (all that remain for None), so the streams interleave."""
        if self._audio_packets is None:
            return
        while True:
            packet = self._pending_audio
            if packet is None:
                try:
                    packet = next(self._audio_packets)
                except StopIteration:
                    self._audio_packets = None
                    return
                if self._audio_copy and packet.dts is None:  # the demuxer's flush packet
                    continue
            if time is not None and self._packet_time(packet) > time:
                self._pending_audio = packet
                return
            self._pending_audio = None
            if self._audio_copy:
                packet.stream = self._audio_out
            self._container.mux(packet)

    # ------------------------------------------------------------------ video
    def write(self, image: np.ndarray, time: float) -> None:
        """Encode one uint8 RGB ``[H, W, 3]`` frame shown from ``time`` seconds on (times must increase)."""
        av = _av()
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f'VideoWriter: frames must be uint8 RGB [H, W, 3], got {image.dtype} {image.shape}')
        image = _pad_even(np.ascontiguousarray(image))
        if self._video is None:
            self._video = self._container.add_stream('libx264', rate=self.fps)
            self._video.width, self._video.height = image.shape[1], image.shape[0]
            self._video.pix_fmt = 'yuv420p'
            self._video.codec_context.time_base = self.time_base
            self._video.options = {'crf': str(self.crf)}
            self._size = image.shape[:2]
        elif image.shape[:2] != self._size:
            raise ValueError(f'VideoWriter: frame of {image.shape[1]}x{image.shape[0]} after frames of '
                             f'{self._size[1]}x{self._size[0]} (W x H) in {self.path!r}')
        pts = int(round(time / self.time_base))
        if self._last_pts is not None and pts <= self._last_pts:
            raise ValueError(f'VideoWriter: frame time {time:.6f} s does not follow the previous frame in '
                             f'{self.path!r}')
        self._last_pts = pts
        frame = av.VideoFrame.from_ndarray(image, format='rgb24')
        frame.pts = pts
        frame.time_base = self.time_base
        self._mux_audio_until(time)
        for packet in self._video.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoder, write the rest of the audio and close the files."""
        if self._container is None:
            return
        try:
            if self._video is not None:
                for packet in self._video.encode(None):
                    self._container.mux(packet)
            self._mux_audio_until(None)
        finally:
            self._container.close()
            self._container = None
            if self._audio_in is not None:
                self._audio_in.close()

    def __enter__(self) -> 'VideoWriter':
        return self

    def __exit__(self, *exc) -> None:
        self.close()
