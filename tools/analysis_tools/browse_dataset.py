"""Look at what a config's pipeline makes of the dataset: per clip, every frame with its mask and, under it, the
log-mel spectrogram of the frame's audio, as one image (and, with ``--video``, an mp4 with the clip's sound).

    python tools/analysis_tools/browse_dataset.py CONFIG [--split train|val|test] [--output-dir DIR]
        [--num-clips N] [--video] [--cfg-options k=v ...]

Images go to ``{output-dir}/{clip_id}.png`` (default ``work_dirs/browse_dataset/{config name}/{split}``): one
column per frame, captioned with its index and flags (``labelled``, ``padded``); the frame as the model sees it
after the pipeline (augmentation included for ``train``), its ground truth drawn by the config's
``AVSLocalVisualizer``; the spectrogram with time to the right and low frequencies at the bottom, coloured on one
scale for every clip (``log(0.01)`` = silence is dark). ``--video`` also writes ``{clip_id}.mp4``: each frame
shown for one second with the clip's sound (wav sources; the official ``.pkl`` log-mel has no waveform).
"""
import argparse
import math
import os
import os.path as osp
import sys
from fractions import Fraction

import cv2
import mmcv
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import avsseg  # noqa: F401  (registries)
from avsseg.registry import DATASETS, VISUALIZERS

#: Colour scale of the spectrograms: VGGish's log-mel of silence up to a loud band.
LOG_MEL_RANGE = (math.log(0.01), 4.0)
#: Narrower frames are enlarged (nearest) to at least this width in the clip images.
MIN_COLUMN_WIDTH = 128
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Draw the clips of a dataset after the pipeline: frames, masks, '
                                     'log-mel of each frame\'s audio')
    parser.add_argument('config', help='config file')
    parser.add_argument('--split', choices=('train', 'val', 'test'), default='train',
                        help='whose dataloader\'s dataset and pipeline (default train)')
    parser.add_argument('--output-dir', help='where to write (default work_dirs/browse_dataset/CONFIG/SPLIT)')
    parser.add_argument('--num-clips', type=int, default=10, help='clips to draw from the start (default 10)')
    parser.add_argument('--video', action='store_true', help='also write an mp4 per clip with its sound')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args(argv)
    if args.num_clips < 1:
        parser.error(f'--num-clips must be >= 1, got {args.num_clips}')
    return args


def spectrogram_image(log_mel: np.ndarray, width: int) -> np.ndarray:
    """RGB image ``[H, width, 3]`` of one ``[1, 96, 64]`` (or ``[96, 64]``) log-mel example: time to the right,
    low mel bands at the bottom, viridis on :data:`LOG_MEL_RANGE`."""
    mel = np.asarray(log_mel, np.float32).reshape(-1, log_mel.shape[-1])  # [frames, bands]
    lo, hi = LOG_MEL_RANGE
    scaled = np.clip((mel.T[::-1] - lo) / (hi - lo), 0, 1)  # [bands, frames], high bands on top
    gray = np.round(scaled * 255).astype(np.uint8)
    coloured = cv2.applyColorMap(gray, cv2.COLORMAP_VIRIDIS)[..., ::-1]
    height = max(16, round(width * gray.shape[0] / gray.shape[1]))
    return cv2.resize(np.ascontiguousarray(coloured), (width, height), interpolation=cv2.INTER_NEAREST)


def caption(width: int, text: str) -> np.ndarray:
    strip = np.full((18, width, 3), 32, np.uint8)
    cv2.putText(strip, text, (2, 13), _FONT, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return strip


def draw_clip(visualizer, item: dict) -> np.ndarray:
    """One column per frame: caption, frame with its ground truth, spectrogram of its audio."""
    frames = item['inputs']['frames'].numpy().transpose(0, 2, 3, 1)  # [T, H, W, 3] RGB
    audio = item['inputs']['audio'].numpy()
    columns = []
    for t, sample in enumerate(item['data_samples']):
        meta = sample.metainfo
        flags = [name for name, key in (('labelled', 'is_labeled'), ('padded', 'is_padded')) if meta.get(key)]
        image = np.ascontiguousarray(frames[t])
        if meta.get('is_padded'):
            drawn = image.copy()
        else:
            gt = sample.gt_sem_seg.data[0].numpy().astype(np.int64) if 'gt_sem_seg' in sample else None
            drawn = visualizer.draw_frame(image, gt=gt, with_labels=False) if gt is not None else image
        if drawn.shape[1] < MIN_COLUMN_WIDTH:  # small training sizes: enlarge so captions and masks are readable
            factor = math.ceil(MIN_COLUMN_WIDTH / drawn.shape[1])
            drawn = cv2.resize(drawn, (drawn.shape[1] * factor, drawn.shape[0] * factor),
                               interpolation=cv2.INTER_NEAREST)
        width = drawn.shape[1]
        columns.append(np.concatenate([caption(width, f'{t} {" ".join(flags)}'), drawn,
                                       spectrogram_image(audio[t], width)], axis=0))
    height = max(c.shape[0] for c in columns)
    columns = [np.pad(c, ((0, height - c.shape[0]), (0, 0), (0, 0))) for c in columns]
    gap = np.full((height, 2, 3), 255, np.uint8)
    return np.concatenate([x for c in columns for x in (c, gap)][:-1], axis=1)


def write_clip_video(path: str, visualizer, item: dict, audio_path: str) -> bool:
    """Each frame (mask drawn) for one second, with the clip's sound; False when the audio has no waveform."""
    from avsseg.apis import VideoWriter
    with_sound = audio_path is not None and not audio_path.lower().endswith('.pkl')
    frames = item['inputs']['frames'].numpy().transpose(0, 2, 3, 1)
    with VideoWriter(path, Fraction(1), audio_from=audio_path if with_sound else None,
                     time_base=Fraction(1, 1)) as writer:
        for t, sample in enumerate(item['data_samples']):
            image = np.ascontiguousarray(frames[t])
            if 'gt_sem_seg' in sample and not sample.metainfo.get('is_padded'):
                image = visualizer.draw_frame(image, gt=sample.gt_sem_seg.data[0].numpy().astype(np.int64),
                                              with_labels=False)
            writer.write(image, float(t))
    return with_sound


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'avsseg'))
    dataset = DATASETS.build(cfg[f'{args.split}_dataloader'].dataset)
    visualizer_cfg = dict(cfg.get('visualizer', dict(type='AVSLocalVisualizer')))
    visualizer_cfg.update(name='browse_dataset', vis_backends=None)
    visualizer = VISUALIZERS.build(visualizer_cfg)
    visualizer.set_dataset_meta(dataset.metainfo.get('classes'), dataset.metainfo['palette'])
    out_dir = args.output_dir or osp.join('work_dirs', 'browse_dataset',
                                          osp.splitext(osp.basename(args.config))[0], args.split)
    os.makedirs(out_dir, exist_ok=True)
    count = min(args.num_clips, len(dataset))
    silent_videos = 0
    for idx in range(count):
        item = dataset[idx]
        info = dataset.get_data_info(idx)
        name = str(info['clip_id']).replace('/', '_')
        mmcv.imwrite(mmcv.rgb2bgr(draw_clip(visualizer, item)), osp.join(out_dir, f'{name}.png'))
        if args.video:
            silent_videos += not write_clip_video(osp.join(out_dir, f'{name}.mp4'), visualizer, item,
                                                  info.get('audio_path'))
    print(f'browse_dataset: drew {count} of {len(dataset)} clips of the {args.split} set into {out_dir}')
    if silent_videos:
        print(f'browse_dataset: {silent_videos} videos have no sound (their audio is .pkl log-mel, not a waveform)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
