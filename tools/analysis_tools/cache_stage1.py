"""Cache the potential instance sets of a frozen stage 1 (PSOS) for every frame of a split (seed 001 §6.3).

    python tools/analysis_tools/cache_stage1.py CONFIG STAGE1_CKPT --split train --out work_dirs/cache/train

CONFIG is a stage-1 (``PSOSSegmentor``) or stage-2 (``AVSCSegmentor``) config; its ``backbone`` / ``decode_head``
(the PSOS head, whose ``instance_filter`` / ``iou_thr`` make the sets) and the test pipeline of its test dataset
(the split replaced) are used, so the masks are at the test size (224 for AVSBench). Writes one
``{clip_id}_{frame_idx}.npz`` per frame (``labels`` int16, ``scores`` float16, ``cls_probs`` float16, ``masks``
packed bits, ``shape``, ``input_shape``) and ``cache_meta.json`` (the checkpoint's sha256 and the filter settings),
which ``LoadClipInstanceSet`` checks before reading. Raw mask logits are not kept (about 15 GB for S4).
"""
import argparse
import json
import os
import os.path as osp
import sys

import numpy as np
import torch
from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Cache the stage-1 potential instance sets of a split')
    parser.add_argument('config', help='stage-1 or stage-2 config')
    parser.add_argument('checkpoint', help='stage-1 checkpoint (a stage-2 checkpoint also holds the stage-1 weights)')
    parser.add_argument('--split', default='test', choices=['train', 'val', 'test'])
    parser.add_argument('--out', required=True, help='cache folder')
    parser.add_argument('--data-root', default=None, help='data root of the dataset')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='key=value overrides of the config')
    return parser.parse_args(argv)


def stage1_model_cfg(model_cfg):
    """The ``PSOSSegmentor`` part of a stage-1 or stage-2 model config."""
    keep = ('data_preprocessor', 'backbone', 'decode_head', 'train_cfg', 'test_cfg')
    cfg = {k: model_cfg[k] for k in keep if k in model_cfg}
    cfg.update(type='PSOSSegmentor', audio_backbone=None)
    return cfg


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from torch.utils.data import DataLoader

    import avsseg  # noqa: F401
    from avsseg.datasets.transforms import avs_collate
    from avsseg.datasets.transforms.loading_instances import CACHE_META, cache_frame_path
    from avsseg.models.segmentors.avsc_segmentor import STAGE1_PREFIXES, file_sha256, load_stage1_state
    from avsseg.registry import DATASETS, MODELS

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'avsseg'))
    model = MODELS.build(stage1_model_cfg(cfg.model))
    state = load_stage1_state(args.checkpoint)
    own = {k for k in model.state_dict() if k.startswith(STAGE1_PREFIXES)}
    if own != set(state):
        raise ValueError(f'cache_stage1: {args.checkpoint} does not match the stage-1 model of {args.config}: '
                         f'missing {sorted(own - set(state))[:8]}, unexpected {sorted(set(state) - own)[:8]}')
    model.load_state_dict(state, strict=False)
    model.eval()

    ds_cfg = cfg.test_dataloader.dataset.copy()
    ds_cfg['split'] = args.split
    ds_cfg['test_mode'] = True
    if args.data_root is not None:
        ds_cfg['data_root'] = args.data_root
    dataset = DATASETS.build(ds_cfg)
    loader = DataLoader(dataset, batch_size=1, shuffle=False, num_workers=0, collate_fn=avs_collate)
    os.makedirs(args.out, exist_ok=True)
    head = model.decode_head
    num_frames = 0
    with torch.no_grad():
        for batch in loader:
            for sample in model.test_step(batch):
                meta = sample.metainfo
                inst = sample.pred_instances
                masks = inst.masks.cpu().numpy().astype(bool)
                np.savez(cache_frame_path(args.out, meta['clip_id'], meta['frame_idx']),
                         labels=inst.labels.cpu().numpy().astype(np.int16),
                         scores=inst.scores.cpu().numpy().astype(np.float16),
                         cls_probs=inst.cls_probs.cpu().numpy().astype(np.float16),
                         masks=np.packbits(masks.reshape(-1)), shape=np.asarray(masks.shape),
                         input_shape=np.asarray(meta['img_shape'][:2]))
                num_frames += 1
    with open(osp.join(args.out, CACHE_META), 'w') as f:
        json.dump(dict(stage1_checkpoint=osp.abspath(args.checkpoint), stage1_sha256=file_sha256(args.checkpoint),
                       instance_filter=head.instance_filter, iou_thr=head.iou_thr, split=args.split,
                       config=osp.abspath(args.config), num_frames=num_frames), f, indent=1)
    print(f'cache_stage1: {num_frames} frames of {args.split} -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
