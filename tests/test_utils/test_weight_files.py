import os.path as osp

import pytest
from mmengine.config import Config

from avsseg.utils import check_weight_files, drop_missing_weight_files, find_weight_files, missing_weight_files

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _cfg(tmp_path):
    present = tmp_path / 'present.pth'
    present.write_bytes(b'x')
    return Config(dict(model=dict(
        type='X',
        audio_backbone=dict(type='VGGish', pretrained=str(tmp_path / 'vggish.pth'), pca_params=None),
        backbone=dict(
            type='SiamEncoder',
            backbone=dict(type='ResNet', init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'r50.pth')))),
        decode_head=dict(
            init_cfg=[dict(type='Kaiming'), dict(type='Pretrained', checkpoint=str(present))],
            branches=[dict(pretrained='open-mmlab://resnet50_v1c'), dict(pretrained=str(tmp_path / 'b.pth'))]))))


def test_find_and_missing(tmp_path):
    cfg = _cfg(tmp_path)
    found = dict(find_weight_files(cfg.model))
    assert found == {
        'model.audio_backbone.pretrained': str(tmp_path / 'vggish.pth'),
        'model.backbone.backbone.init_cfg': str(tmp_path / 'r50.pth'),
        'model.decode_head.init_cfg': str(tmp_path / 'present.pth'),
        'model.decode_head.branches.1.pretrained': str(tmp_path / 'b.pth'),
    }  # URLs are not local files
    assert [k for k, _ in missing_weight_files(cfg)] == [
        'model.audio_backbone.pretrained', 'model.backbone.backbone.init_cfg',
        'model.decode_head.branches.1.pretrained'
    ]


def test_check_names_every_missing_file_and_the_options(tmp_path):
    cfg = _cfg(tmp_path)
    with pytest.raises(FileNotFoundError) as err:
        check_weight_files(cfg, 'my_config.py')
    msg = str(err.value)
    assert 'my_config.py' in msg and str(tmp_path / 'vggish.pth') in msg and str(tmp_path / 'r50.pth') in msg
    assert ('--cfg-options model.audio_backbone.pretrained=None model.backbone.backbone.init_cfg=None '
            'model.decode_head.branches.1.pretrained=None') in msg
    # the suggested options are enough
    cfg.merge_from_dict({'model.audio_backbone.pretrained': None, 'model.backbone.backbone.init_cfg': None,
                         'model.decode_head.branches.1.pretrained': None})
    check_weight_files(cfg)


def test_drop_missing(tmp_path):
    cfg = _cfg(tmp_path)
    dropped = drop_missing_weight_files(cfg)
    assert len(dropped) == 3 and not missing_weight_files(cfg)
    assert cfg.model.audio_backbone.pretrained is None and cfg.model.backbone.backbone.init_cfg is None
    assert cfg.model.decode_head.branches[1].pretrained is None
    assert cfg.model.decode_head.init_cfg[1].checkpoint == str(tmp_path / 'present.pth')  # present: kept


def test_official_combo_config_lists_its_weights():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'combo', 'combo_pvt_s4.py'))
    assert dict(find_weight_files(cfg.model)) == {
        'model.audio_backbone.pretrained': 'pretrained/vggish-10086976.pth',
        'model.backbone.backbone.init_cfg': 'pretrained/pvt_v2_b5.pth',
    }


def test_a_transformers_folder_counts_as_present(tmp_path):
    (tmp_path / 'ast').mkdir()
    cfg = Config(dict(model=dict(audio_backbone=dict(type='HFAudioTagger', pretrained=str(tmp_path / 'ast')),
                                 neck=dict(type='HFAudioEncoder', pretrained=str(tmp_path / 'clap')))))
    assert missing_weight_files(cfg) == [('model.neck.pretrained', str(tmp_path / 'clap'))]
