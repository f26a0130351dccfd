"""Write a synthetic video with sound to try the demo on: objects of the synthetic categories move over a
background and take turns sounding.

    python tools/demo/make_synthetic_video.py OUT.mp4 [--seconds 10] [--fps 10] [--size 128] [--seed 0]
        [--switch-every 5] [--maskige-dir DIR] [--labels-dir DIR]

The scene is drawn by the renderer of the synthetic dataset (``avsseg.datasets.synthetic``): two objects that
sound in turn (the first for ``--switch-every`` seconds, then the second, ...) and one silent object, each of a
different category, with the categories' own looks and sounds, over a quiet noise floor. The video is H.264, the
sound AAC (16 kHz mono). ``--maskige-dir`` also writes the COMBO Maskige of every video frame
(``{frame index:06d}_mask_color.png``, from ideal class-agnostic proposals of all objects, as the synthetic
dataset's), which ``tools/demo/video_demo.py --maskige-dir`` reads; ``--labels-dir`` writes the ground truth of
every frame (``{frame index:06d}.png``, 0/255 on the sounding object).
"""
import argparse
import json
import os
import os.path as osp
import sys
from fractions import Fraction
from typing import Dict, Optional

import numpy as np

from avsseg.apis import VideoWriter
from avsseg.datasets.maskige import masks_to_index_map, save_maskige
from avsseg.datasets.synthetic import (CATEGORIES, NOISE_FLOOR_RMS, SAMPLE_RATE, SOURCE_RMS, object_proposals,
                                       render_frames, sample_scene, synthesize_source)

FADE_SECONDS = 0.02  # so a source switching on or off does not click


def render_synthetic_video(seconds: int = 10, fps: int = 10, size: int = 128, seed: int = 0,
                           switch_every: int = 5) -> Dict:
    """Render the frames, sound and ground truth of a synthetic video.

    Args:
        seconds: length in whole seconds.
        fps: frames per second.
        size: frame side in pixels (at least 32).
        seed: random seed (same arguments, same video).
        switch_every: seconds each sounding object sounds before the next one takes over.

    Returns:
        dict: ``frames`` (uint8 ``[N, S, S, 3]``, ``N = seconds * fps``), ``wave`` (float32
        ``[seconds * 16000]``), ``labels`` (uint8 ``[N, S, S]``, 1 on the object sounding at that frame),
        ``instance_maps`` (int16 ``[N, S, S]``, object index or -1), ``sounding`` (category per frame) and
        ``objects`` (categories in draw order).
    """
    if seconds < 1 or fps < 1 or switch_every < 1:
        raise ValueError(f'seconds, fps and switch_every must be >= 1, got {seconds}, {fps}, {switch_every}')
    rng = np.random.default_rng([seed, 13])
    picks = rng.choice(len(CATEGORIES), 3, replace=False)
    sounding, silent = [CATEGORIES[picks[0]], CATEGORIES[picks[1]]], [CATEGORIES[picks[2]]]
    num_frames = seconds * fps
    scene, inst, _ = sample_scene(rng, sounding, silent, size, num_frames)
    frames = np.stack(render_frames(scene, inst, rng))
    times = np.arange(num_frames) / fps
    turn = (times // switch_every).astype(int) % len(sounding)  # which sounding object has the turn
    object_index = {obj.category.name: i for i, obj in enumerate(scene.objects)}
    labels = np.stack([inst[t] == object_index[sounding[turn[t]].name] for t in range(num_frames)]).astype(np.uint8)

    num_samples = seconds * SAMPLE_RATE
    sample_times = np.arange(num_samples) / SAMPLE_RATE
    sample_turn = (sample_times // switch_every).astype(int) % len(sounding)
    wave = rng.standard_normal(num_samples) * NOISE_FLOOR_RMS
    fade = int(FADE_SECONDS * SAMPLE_RATE)
    for k, category in enumerate(sounding):
        gate = (sample_turn == k).astype(np.float64)
        if fade:
            gate = np.convolve(gate, np.ones(fade) / fade, mode='same')
        wave += SOURCE_RMS * gate * synthesize_source(category.sound, seconds, rng)
    peak = np.abs(wave).max()
    if peak > 0.99:
        wave *= 0.99 / peak
    return dict(frames=frames, wave=wave.astype(np.float32), labels=labels, instance_maps=inst,
                sounding=[sounding[k].name for k in turn], objects=[obj.category.name for obj in scene.objects])


def write_synthetic_video(out: str, seconds: int = 10, fps: int = 10, size: int = 128, seed: int = 0,
                          switch_every: int = 5, maskige_dir: Optional[str] = None,
                          labels_dir: Optional[str] = None) -> Dict:
    """Render (:func:`render_synthetic_video`) and write the video, and optionally its Maskiges and labels.

    Returns:
        the rendering dict plus ``path``.
    """
    import cv2
    import soundfile as sf

    video = render_synthetic_video(seconds, fps, size, seed, switch_every)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    wav = f'{out}.tmp{os.getpid()}.wav'
    sf.write(wav, video['wave'], SAMPLE_RATE, subtype='PCM_16')
    try:
        # the writer carries a file's audio track over; a wav's PCM does not fit mp4 and is encoded to AAC
        with VideoWriter(out, Fraction(fps), audio_from=wav, time_base=Fraction(1, fps)) as writer:
            for t, frame in enumerate(video['frames']):
                writer.write(frame, t / fps)
    finally:
        os.remove(wav)
    for t in range(len(video['frames'])):
        if maskige_dir:
            save_maskige(masks_to_index_map(object_proposals(video['instance_maps'][t])),
                         osp.join(maskige_dir, f'{t:06d}_mask_color.png'))
        if labels_dir:
            os.makedirs(labels_dir, exist_ok=True)
            if not cv2.imwrite(osp.join(labels_dir, f'{t:06d}.png'), video['labels'][t] * 255):
                raise OSError(f'cannot write {osp.join(labels_dir, f"{t:06d}.png")}')
    video['path'] = out
    return video


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Write a synthetic video with sound (objects taking turns '
                                     'sounding) to try tools/demo/video_demo.py on')
    parser.add_argument('out', help='output video (.mp4, .mov or .mkv)')
    parser.add_argument('--seconds', type=int, default=10, help='length in seconds (default 10)')
    parser.add_argument('--fps', type=int, default=10, help='frames per second (default 10)')
    parser.add_argument('--size', type=int, default=128, help='frame side in pixels (default 128)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    parser.add_argument('--switch-every', type=int, default=5,
                        help='seconds each sounding object sounds before the other takes over (default 5)')
    parser.add_argument('--maskige-dir', help='also write the COMBO Maskige of every frame here')
    parser.add_argument('--labels-dir', help='also write the ground-truth mask of every frame here (0/255)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.size < 32:
        raise SystemExit(f'--size must be at least 32, got {args.size}')
    video = write_synthetic_video(args.out, args.seconds, args.fps, args.size, args.seed, args.switch_every,
                                  args.maskige_dir, args.labels_dir)
    turns = []
    for t in range(0, args.seconds, args.switch_every):
        turns.append(dict(seconds=[t, min(t + args.switch_every, args.seconds)],
                          sounding=video['sounding'][t * args.fps]))
    print(json.dumps(dict(video=args.out, objects=video['objects'], turns=turns)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
