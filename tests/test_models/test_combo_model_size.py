"""Parameter counts of the full-size COMBO ResNet-50 model, against the paper's Table 4 (see docs/combo.md).

Paper: 158.9M with separate Siam-encoder weights, 135.5M with shared weights (VGGish included). Every part is
derived here by hand; the totals are 159.01M / 135.50M with the ResNet BatchNorm affine parameters, which the
official detectron2 ResNet keeps as FrozenBN *buffers*: without them 158.90M / 135.45M.
"""
import os.path as osp

import torchvision
from mmengine.config import Config, ConfigDict

from avsseg.registry import MODELS

BASE = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'models', 'combo_r50.py')


def _linear(i, o):
    return i * o + o


def _count(module):
    return sum(p.numel() for p in module.parameters())


def _expected_parts():
    resnet50 = _count(torchvision.models.resnet50(weights=None)) - _linear(2048, 1000)  # without fc
    gates = sum(2 * c * (c // 16) + c // 16 + c for c in (256, 512, 1024, 2048))  # SE: C -> C/16 -> C
    msda = _linear(256, 8 * 3 * 4 * 2) + _linear(256, 8 * 3 * 4) + 2 * _linear(256, 256)
    pixel_decoder = (
        sum(c * 256 + 256 + 512 for c in (2048, 1024, 512))  # input 1x1 convs + GN
        + 6 * (msda + _linear(256, 1024) + _linear(1024, 256) + 2 * 512)  # 6 deformable encoder layers
        + 3 * 256  # level encoding
        + 256 * 256 + 512 + 9 * 256 * 256 + 512  # res2 lateral 1x1 and output 3x3 convs (no bias) + GN
        + _linear(256, 256))  # mask feature conv
    decoder = 9 * (2 * (4 * 256 * 256 + 4 * 256) + _linear(256, 2048) + _linear(2048, 256) + 3 * 512) + 512
    head_rest = 2 * 100 * 256 + 3 * 256 + _linear(256, 3) + 3 * _linear(256, 256)  # queries, level, cls, mask MLP
    fusion = (3 * _linear(256, 256) + 2 * _linear(128, 256) + _linear(256, 128)  # Q, K, V_v, V_a, out_v, out_a
              + 2 * 256 + 2 * 128  # LayerNorms
              + 256 + 128 + 256 + 128)  # level embed, audio pos, gamma_v, gamma_a
    audio_mlp = _linear(128, 4096) + _linear(4096, 4096) + _linear(4096, 256)
    return dict(vggish=72141184, resnet50=resnet50, gates=gates,
                head=pixel_decoder + decoder + head_rest + fusion + audio_mlp, pixel_decoder=pixel_decoder,
                fusion=fusion, audio_mlp=audio_mlp)


def _build(share_weights):
    cfg = Config.fromfile(BASE).model
    cfg.pop('data_preprocessor')
    cfg.backbone.backbone.init_cfg = None  # no local ImageNet weights in tests
    cfg.backbone.share_weights = share_weights
    cfg.audio_backbone = dict(type='VGGish', pretrained=None, freeze=False)
    return MODELS.build(ConfigDict(cfg))


def test_combo_r50_parameter_counts_match_table_4():
    parts = _expected_parts()
    assert parts['resnet50'] == 23508032
    bn_affine = 53120  # per ResNet-50: FrozenBN buffers in detectron2, parameters (frozen) here
    frozen_bn = 2 * bn_affine

    separate = _build(share_weights=False)
    head = separate.decode_head
    assert _count(head.pixel_decoder) == parts['pixel_decoder']
    assert _count(head.fusion) == parts['fusion'] and _count(head.audio_mlp) == parts['audio_mlp']
    assert _count(head) == parts['head'] == 39151683
    assert _count(separate.backbone.gates) == parts['gates'] == 700400
    assert _count(separate.audio_backbone) == parts['vggish']
    total_separate = parts['vggish'] + 2 * parts['resnet50'] + parts['gates'] + parts['head']
    assert _count(separate) == total_separate == 159009331
    assert sum(p.numel() for p in separate.parameters() if not p.requires_grad) == frozen_bn
    del separate

    shared = _build(share_weights=True)
    total_shared = total_separate - parts['resnet50']
    assert _count(shared) == total_shared == 135501299

    # Table 4: 158.9M / 135.5M
    assert round((total_separate - frozen_bn) / 1e6, 1) == 158.9
    assert round(total_shared / 1e6, 1) == 135.5
    assert abs((total_shared - bn_affine) / 1e6 - 135.5) < 0.06
