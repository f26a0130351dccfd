"""Records losses and predictions of tiny TPAVI and COMBO models on fixed seeded inputs.

The regression test ``tests/test_models/test_regression_outputs.py`` rebuilds the same models from the current
configs, sets every weight from its state-dict name (:func:`fill_weights`, so no weights need storing and the
outputs do not depend on the order modules are built in) and compares the outputs exactly (CPU, float32,
one thread). It only uses the segmentor's public API (``loss(inputs, data_samples)`` / ``predict(inputs,
data_samples)``), so it can be rerun on any commit:

    python tests/data/regression/record_outputs.py tests/data/regression/outputs_reference.pt

History of the reference: all cases were recorded at 4e75833, before the head-layer refactor (issue 8), and the
refactor reproduced them exactly. The TPAVI case was then re-recorded once, on purpose, when its decoder took the
official ``ResidualConvUnit`` (``relu(x)`` residual, ReLU'd maps for the AVM loss; issue 9); the COMBO cases are
still the 4e75833 numbers. Re-record only for an intended change of outputs, and say which case and why here.
"""
import argparse
import copy
import os.path as osp
import sys
import zlib

import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
NUM_CLIPS, NUM_FRAMES, SIZE = 2, 3, 32


def _model_cfg(name: str):
    """Model config of a case: the quickstart configs, made smaller where they would make the file large."""
    if name.startswith('tpavi'):
        model = Config.fromfile(osp.join(REPO, 'configs/tpavi/tpavi_tiny_synthetic_s4.py')).model
        # every stage fused, with the audio-visual matching loss (reads the neck's per-stage audio)
        model['neck']['tpavi_stages'] = (0, 1, 2, 3)
        model['decode_head']['loss_avm'] = dict(type='AudioVisualMatchingLoss', stages=(0, 1, 2, 3),
                                                loss_weight=0.5)
    else:
        model = Config.fromfile(osp.join(REPO, 'configs/combo/combo_tiny_synthetic_s4.py')).model
        if name == 'combo_semantic':
            model['decode_head']['num_classes'] = 4
            model['decode_head']['loss_cls']['class_weight'] = [1.0] * 4 + [0.1]
    model.pop('data_preprocessor', None)
    return model


def _num_classes(name: str) -> int:
    return 4 if name == 'combo_semantic' else 2


def make_inputs(name: str, seed: int = 0):
    """Preprocessed inputs and ``B*T`` data samples: clip 1 has a padded last frame (all cases)."""
    gen = torch.Generator().manual_seed(seed)
    n = NUM_CLIPS * NUM_FRAMES
    inputs = dict(
        frames=torch.randn(n, 3, SIZE, SIZE, generator=gen),
        audio=torch.randn(n, 1, 96, 64, generator=gen))
    if name.startswith('combo'):
        inputs['maskige'] = torch.randn(n, 3, SIZE, SIZE, generator=gen)
    samples = []
    for b in range(NUM_CLIPS):
        for t in range(NUM_FRAMES):
            padded = b == 1 and t == NUM_FRAMES - 1
            labeled = (t == 0 or (b == 0 and t == 1)) and not padded
            if padded:
                inputs['frames'][b * NUM_FRAMES + t] = 0
                if 'maskige' in inputs:
                    inputs['maskige'][b * NUM_FRAMES + t] = 0
            gt = torch.randint(0, _num_classes(name), (1, SIZE, SIZE), generator=gen)
            gt[:, :4] = 255  # a band of ignored pixels
            if not labeled:
                gt[:] = 255
            sample = SegDataSample(gt_sem_seg=PixelData(data=gt))
            shape = (SIZE, SIZE)
            sample.set_metainfo(dict(
                clip_id=f'clip{b}', frame_idx=t, num_frames=NUM_FRAMES, is_labeled=labeled, is_padded=padded,
                img_shape=shape, ori_shape=shape, pad_shape=shape, batch_input_shape=shape, padding_size=[0, 0, 0, 0]))
            samples.append(sample)
    return inputs, samples


CASES = ('tpavi', 'combo_binary', 'combo_semantic')


def build(name: str):
    from mmengine.registry import init_default_scope

    import avsseg  # noqa: F401  registers the modules
    from avsseg.registry import MODELS
    init_default_scope('avsseg')
    return MODELS.build(_model_cfg(name))


def fill_weights(model) -> dict:
    """Set every floating-point state-dict entry from a generator seeded by its name; returns the state dict.

    Matrices and kernels get ``U(-1, 1) / sqrt(fan_in)``; 1-D weights (norm scales) ``1 + 0.1 U``; other 1-D
    entries (biases, layer scales, running means) ``0.1 U``; BatchNorm running variances ``1 + 0.5 U(0, 1)``.
    """
    state_dict = model.state_dict()
    for key, value in state_dict.items():
        if not value.is_floating_point():
            continue
        gen = torch.Generator().manual_seed(zlib.crc32(key.encode()))
        u = torch.rand(value.shape, generator=gen, dtype=torch.float64)
        if key.endswith('running_var'):
            new = 1 + 0.5 * u
        elif value.dim() >= 2:
            new = (2 * u - 1) / (value[0].numel() ** 0.5)
        elif key.endswith('weight'):
            new = 1 + 0.1 * (2 * u - 1)
        else:
            new = 0.1 * (2 * u - 1)
        value.copy_(new.to(value.dtype))
    return copy.deepcopy(state_dict)


def run_case(name: str):
    """``(losses, seg_logits)``: losses in train mode (seeded), logits ``[B*T, C, H, W]`` in eval mode."""
    torch.manual_seed(0)
    model = build(name)
    state_dict = fill_weights(model)
    inputs, samples = make_inputs(name)
    model.eval()
    with torch.no_grad():
        preds = model.predict(copy.deepcopy(inputs), copy.deepcopy(samples))
    seg_logits = torch.stack([p.seg_logits.data for p in preds])
    model.load_state_dict(state_dict, strict=True)
    model.train()
    torch.manual_seed(1)
    losses = model.loss(copy.deepcopy(inputs), copy.deepcopy(samples))
    losses = {k: v.detach().clone() for k, v in losses.items()}
    return losses, seg_logits


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out')
    args = parser.parse_args()
    torch.set_num_threads(1)
    record = {}
    for name in CASES:
        losses, seg_logits = run_case(name)
        # stored without the segmentor's 'decode.' prefix (added by the head-layer refactor after 4e75833)
        losses = {k[len('decode.'):] if k.startswith('decode.') else k: v for k, v in losses.items()}
        record[name] = dict(losses=losses, seg_logits=seg_logits)
        print(name, {k: round(float(v), 6) for k, v in losses.items()}, tuple(seg_logits.shape), file=sys.stderr)
    torch.save(record, args.out)


if __name__ == '__main__':
    main()
