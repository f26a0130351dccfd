"""Segment the sounding objects of a video and write it back with the masks drawn over it and its sound kept.

    python tools/demo/video_demo.py VIDEO CONFIG CHECKPOINT --out OUT.mp4 [--fps-out N] [--every-frame]
        [--device cpu] [--batch-size N] [--maskige-dir DIR] [--dump-frames DIR] [--no-labels] [--alpha A]

By default the model sees what it was trained on: one frame per second (AVSBench: the one on screen at
``s + 15/16`` s) with that second's sound, in clips of the model's length; every frame of second ``s`` of the
output then shows the mask of second ``s`` (held). ``--every-frame`` runs the model on every frame instead, each
with 0.975 s of sound centred on it (slower by the frame rate). The output is H.264 at the input's frame times
(same frame count and duration) or, with ``--fps-out N``, at N frames per second; the input's audio track is
copied unchanged (re-encoded to AAC when mp4 cannot hold its codec). Masks are drawn by the config's
``AVSLocalVisualizer`` (class colours, outlines; class names for semantic models).

Models that also take per-frame images (COMBO's Maskige) need them for the frames the model sees:
``--dump-frames DIR`` writes those frames as ``DIR/{frame index:06d}.png`` and stops; make the Maskiges with
``tools/dataset_converters/make_maskige.py DIR --dataset folder ...`` (they are written next to the frames as
``{frame index:06d}_mask_color.png``), then pass ``--maskige-dir DIR``.

A file without a video or an audio stream, a file PyAV cannot read and a video shorter than one second are
refused with an error naming the file; a silent sound track is valid input.
"""
import argparse
import math
import os
import os.path as osp
import sys
from fractions import Fraction
from typing import Dict, Iterator

import mmcv
import numpy as np
from tqdm import tqdm

from avsseg.apis import AVSInferencer, VideoWriter, check_video, iter_video_frames, num_sampled_seconds
from avsseg.apis.sampling import second_frame_indices


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Draw the sounding objects a model finds over a video, sound kept')
    parser.add_argument('video', help='input video with a sound track (mp4, mkv, webm, mov, ...)')
    parser.add_argument('config', help='model config (path, or a config name in configs/)')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='output video (.mp4, .mov or .mkv)')
    parser.add_argument('--fps-out', type=float, default=None,
                        help='frame rate of the output (default: the input\'s frame times)')
    parser.add_argument('--every-frame', action='store_true',
                        help='run the model on every frame (sound centred on it) instead of once per second')
    parser.add_argument('--device', default=None, help='cpu, cuda, cuda:1, ... (default: cuda when available)')
    parser.add_argument('--batch-size', type=int, default=1, help='clips per forward pass (default 1)')
    parser.add_argument('--maskige-dir',
                        help='folder of {frame index:06d}_mask_color.png Maskiges (COMBO models; ignored by others)')
    parser.add_argument('--dump-frames', metavar='DIR',
                        help='write the frames the model sees as DIR/{frame index:06d}.png and stop')
    parser.add_argument('--no-labels', action='store_true', help='no caption strip and no class names')
    parser.add_argument('--alpha', type=float, default=None, help='weight of the class colours (default: config)')
    parser.add_argument('--crf', type=int, default=18, help='x264 quality of the output (default 18)')
    args = parser.parse_args(argv)
    if args.dump_frames is None and args.out is None:
        parser.error('--out is required (or --dump-frames)')
    if args.fps_out is not None and args.fps_out <= 0:
        parser.error(f'--fps-out must be positive, got {args.fps_out}')
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    return args


def dump_frames(video: str, folder: str, every_frame: bool, frame_offset: float) -> int:
    """Write the frames the model sees (``{index:06d}.png``); returns how many."""
    info = check_video(video, frame_offset)
    if every_frame:
        wanted = set(range(info.num_frames))
    else:
        wanted = set(second_frame_indices(info.frame_times, num_sampled_seconds(info.duration, frame_offset),
                                          frame_offset).tolist())
    os.makedirs(folder, exist_ok=True)
    for frame in iter_video_frames(video):
        if frame.index in wanted:
            mmcv.imwrite(mmcv.rgb2bgr(frame.image), osp.join(folder, f'{frame.index:06d}.png'))
    return len(wanted)


def output_frames(video: str, fps_out) -> Iterator:
    """``(source frame, output time)``: every input frame at its time, or the frame on screen at each
    ``k / fps_out``."""
    if fps_out is None:
        for frame in iter_video_frames(video):
            yield frame, frame.time
        return
    info = check_video(video)
    num_out = max(1, int(math.ceil(info.duration * fps_out - 1e-6)))
    frames = iter_video_frames(video)
    current = next(frames)
    upcoming = next(frames, None)
    for k in range(num_out):
        time = k / fps_out
        while upcoming is not None and upcoming.time <= time + 1e-6:
            current, upcoming = upcoming, next(frames, None)
        yield current, time


def main(argv=None) -> int:
    args = parse_args(argv)
    try:  # a bad input is reported before the model is built
        check_video(args.video)
    except (FileNotFoundError, RuntimeError, ValueError) as err:
        raise SystemExit(f'video_demo: {err}') from err
    inferencer = AVSInferencer(args.config, args.checkpoint, device=args.device, show_progress=False)
    offset = inferencer.sampling['frame_offset']
    if args.dump_frames:
        count = dump_frames(args.video, args.dump_frames, args.every_frame, offset)
        print(f'wrote {count} frames to {args.dump_frames}')
        return 0
    info = check_video(args.video, offset)
    num_seconds = num_sampled_seconds(info.duration, offset)
    source = dict(video=args.video)
    if args.maskige_dir and 'maskige' in inferencer.aux_keys:
        source['aux_images'] = dict(maskige=args.maskige_dir)
    elif args.maskige_dir:
        # one command line for every model (tools/quickstart.sh runs COMBO or TPAVI)
        print(f'video_demo: {args.config} takes no Maskige; --maskige-dir ignored')
    if args.alpha is not None:
        inferencer.visualizer.alpha = args.alpha
    semantic = len(inferencer.model.dataset_meta['classes']) > 2
    # binary masks need no caption: the strip would only say "prediction"
    with_labels = semantic and not args.no_labels
    predictions = inferencer.iter_predictions(source, every_frame=args.every_frame, batch_size=args.batch_size)
    masks: Dict[int, np.ndarray] = {}

    def mask_for(frame) -> np.ndarray:
        key = frame.index if args.every_frame else min(int(math.floor(frame.time + 1e-6)), num_seconds - 1)
        while key not in masks:
            sample = next(predictions, None)
            if sample is None:
                raise RuntimeError(f'no prediction for frame {frame.index} of {args.video} (second {key})')
            meta = sample.metainfo
            masks[meta['frame_index'] if args.every_frame else meta['second']] = \
                sample.pred_sem_seg.data[0].cpu().numpy().astype(np.int64)
        for old in [k for k in masks if k < key]:  # frames and seconds come in order: earlier ones are done
            del masks[old]
        return masks[key]

    fps = Fraction(args.fps_out).limit_denominator(1001) if args.fps_out else info.fps
    time_base = None if args.fps_out else info.time_base
    num_out = info.num_frames if args.fps_out is None else max(1, int(math.ceil(info.duration * args.fps_out - 1e-6)))
    with VideoWriter(args.out, fps, audio_from=args.video, crf=args.crf, time_base=time_base) as writer:
        for frame, time in tqdm(output_frames(args.video, args.fps_out), total=num_out, desc='video_demo',
                                unit='frame', disable=None):
            drawn = inferencer.visualizer.draw_frame(frame.image, mask_for(frame), with_labels=with_labels)
            writer.write(drawn, time)
    print(f'wrote {args.out} ({num_out} frames, {info.duration:.2f} s, sound from {args.video})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
