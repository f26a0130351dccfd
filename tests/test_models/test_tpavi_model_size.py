"""Parameter counts of the full-size TPAVI models against the official ones, and backbone weight layout.

Official counts (OpenNLPLab/AVSBench, ``Total params`` without VGGish): PVT-v2-b5 model 101.32M (backbone
81.44M); ResNet-50 model 91.40M, of which 22.06M are ``B2_ResNet``'s unused ``layer3_2``/``layer4_2`` branch,
so the network that runs has 69.34M. See docs/tpavi.md.
"""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from avsseg.registry import MODELS

# models build their data preprocessor through the default scope
init_default_scope('avsseg')

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'models')


def _build(name):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name)).model
    cfg.pop('audio_backbone')
    cfg.backbone.init_cfg = None  # no local ImageNet weights in tests
    return MODELS.build(cfg)


def _millions(module):
    return sum(p.numel() for p in module.parameters()) / 1e6


def test_tpavi_pvt_b5_parameter_count():
    model = _build('tpavi_pvt.py')
    assert abs(_millions(model.backbone) - 81.44) < 0.005
    assert abs(_millions(model) - 101.32) < 0.005
    # TPAVI blocks: 4 x 0.166M
    assert abs(_millions(model.neck.tpavi_blocks) - 0.66) < 0.005


def test_tpavi_r50_parameter_count():
    model = _build('tpavi_r50.py')
    assert abs(_millions(model) - 69.34) < 0.005


def test_mmseg_resnet50_takes_torchvision_weights():
    import torchvision
    tv = torchvision.models.resnet50(weights=None).eval()
    backbone = MODELS.build(dict(type='ResNet', depth=50, out_indices=(0, 1, 2, 3), style='pytorch'))
    backbone.eval()  # mmseg's ResNet.train() returns None, so no chaining
    state = {k: v for k, v in tv.state_dict().items() if not k.startswith('fc.')}
    backbone.load_state_dict(state, strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ours = backbone(x)[-1]
        ref = tv.layer4(tv.layer3(tv.layer2(tv.layer1(tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))))))
    torch.testing.assert_close(ours, ref)
