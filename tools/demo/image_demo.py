"""Segment the sounding objects of one frame, given its sound, and write the frame with the mask drawn over it.

    python tools/demo/image_demo.py IMAGE AUDIO CONFIG CHECKPOINT --out OUT.png [--audio-start SEC]
        [--maskige PATH] [--device cpu] [--no-labels]

``AUDIO`` is a sound file (wav, flac, ...) or a video whose sound is used; the frame hears the 0.96 s from
``--audio-start`` (default 0) on, as the first frame of a clip does. The model sees the frame as a clip of one
real frame and padded ones (flagged ``is_padded``, as the short tail of a video). ``--maskige`` gives the frame's
COMBO Maskige (models that take one).
"""
import argparse
import os.path as osp
import sys

import mmcv

from avsseg.apis import AVSInferencer


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Draw the sounding objects a model finds in one frame')
    parser.add_argument('image', help='the frame (png, jpg, ...)')
    parser.add_argument('audio', help='its sound: a sound file, or a video whose sound is used')
    parser.add_argument('config', help='model config (path, or a config name in configs/)')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output image (png, jpg)')
    parser.add_argument('--audio-start', type=float, default=0.0, help='second of the sound the frame starts at')
    parser.add_argument('--maskige', help='the frame\'s COMBO Maskige image (models that take one)')
    parser.add_argument('--device', default=None, help='cpu, cuda, ... (default: cuda when available)')
    parser.add_argument('--no-labels', action='store_true', help='no caption strip and no class names')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    for what, path in (('image', args.image), ('audio', args.audio), ('maskige', args.maskige)):
        if path is not None and not osp.isfile(path):
            raise SystemExit(f'image_demo: {what} file not found: {path}')
    inferencer = AVSInferencer(args.config, args.checkpoint, device=args.device, show_progress=False)
    source = dict(frames=[args.image], audio=args.audio, audio_start=args.audio_start)
    if args.maskige:
        source['aux_images'] = dict(maskige=[mmcv.imread(args.maskige, channel_order='rgb', backend='pillow')])
    result = inferencer(source, return_vis=True, with_labels=not args.no_labels)
    mmcv.imwrite(mmcv.rgb2bgr(result['visualization'][0]), args.out)
    mask = result['predictions']['masks'][0]
    names = result['predictions']['classes']
    found = sorted({names[c] for c in mask.reshape(-1).tolist() if c != 0})
    print(f'wrote {args.out}: {", ".join(found) if found else "no sounding object"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
