"""Outputs did not move: tiny TPAVI and COMBO models give the recorded losses and predictions exactly, on CPU.

The reference (losses, logits) was written by ``tests/data/regression/record_outputs.py``, which only uses the
segmentor's public ``loss`` / ``predict``; its docstring says when each case was recorded (COMBO: 4e75833, before
the head-layer refactor).
"""
import importlib.util
import os.path as osp

import pytest
import torch

HERE = osp.dirname(__file__)
DATA = osp.join(HERE, '..', 'data', 'regression')
REFERENCE = osp.join(DATA, 'outputs_reference.pt')


def _recorder():
    spec = importlib.util.spec_from_file_location('record_outputs', osp.join(DATA, 'record_outputs.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def reference():
    return torch.load(REFERENCE, map_location='cpu', weights_only=True)


@pytest.mark.parametrize('case', ['tpavi', 'combo_binary', 'combo_semantic'])
def test_outputs_did_not_move(reference, case):
    recorder = _recorder()
    expected = reference[case]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the reference was recorded single-threaded (reduction order)
    try:
        losses, seg_logits = recorder.run_case(case)
    finally:
        torch.set_num_threads(threads)
    # the segmentor now prefixes head losses with 'decode.' as mmseg's EncoderDecoder does
    assert all(k.startswith('decode.') for k in losses), sorted(losses)
    losses = {k[len('decode.'):]: v for k, v in losses.items()}
    assert sorted(losses) == sorted(expected['losses'])
    for name, value in expected['losses'].items():
        assert torch.equal(losses[name], value), (case, name, float(losses[name]), float(value))
    assert torch.equal(seg_logits, expected['seg_logits']), (seg_logits - expected['seg_logits']).abs().max()
