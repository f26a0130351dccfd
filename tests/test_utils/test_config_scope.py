"""`_base_ = ['avsseg::...']`: configs outside the repository inherit avsseg's configs by package scope."""
import os.path as osp

import pytest
from mmengine.config import Config

import avsseg  # noqa: F401  (enables the scope)
from avsseg.utils import repo_root
from avsseg.utils.config_scope import resolve_avsseg_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_repo_root_is_this_checkout():
    assert repo_root() == REPO


def test_config_outside_the_repository_inherits_by_scope(tmp_path):
    config = tmp_path / 'my_combo.py'
    config.write_text("_base_ = ['avsseg::combo/combo_tiny_synthetic_s4.py']\n"
                      "custom_hooks = [*_base_.custom_hooks, dict(type='EMAHook')]\n"
                      "train_cfg = dict(max_iters=10)\n")
    cfg = Config.fromfile(str(config))
    reference = Config.fromfile(osp.join(REPO, 'configs', 'combo', 'combo_tiny_synthetic_s4.py'))
    assert cfg.model == reference.model  # no _scope_ added: the same as a relative path to the file
    assert cfg.default_scope == 'avsseg'
    assert cfg.train_cfg.max_iters == 10 and cfg.train_cfg.val_interval == reference.train_cfg.val_interval
    assert [h['type'] for h in cfg.custom_hooks] == [
        'RNGStateHook', 'DistBuffersSyncHook', 'EpochLogIntervalHook', 'EMAHook']


def test_scope_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'avsseg::combo/nope.py: .*configs/combo/nope.py does not exist'):
        resolve_avsseg_config('avsseg::combo/nope.py')
    with pytest.raises(FileNotFoundError, match='leaves'):
        resolve_avsseg_config('avsseg::../setup.py')
    config = tmp_path / 'bad.py'
    config.write_text("_base_ = ['avsseg::tpavi/missing.py']\n")
    with pytest.raises(FileNotFoundError, match='tpavi/missing.py does not exist'):
        Config.fromfile(str(config))


def test_other_paths_still_resolve_as_in_mmengine(tmp_path):
    (tmp_path / 'base.py').write_text('a = 1\n')
    (tmp_path / 'child.py').write_text("_base_ = ['./base.py']\nb = 2\n")
    cfg = Config.fromfile(str(tmp_path / 'child.py'))
    assert (cfg.a, cfg.b) == (1, 2)
    # other scopes go to mmengine's own resolver (which asserts on packages it does not know)
    (tmp_path / 'other.py').write_text("_base_ = ['unknownpkg::x/y.py']\n")
    with pytest.raises(AssertionError, match='does not support to load unknownpkg config'):
        Config.fromfile(str(tmp_path / 'other.py'))


def test_documented_root_variable_alternative(tmp_path, monkeypatch):
    """docs/plugins.md: mmengine substitutes {{$VAR:default}} before reading the bases, without importing avsseg."""
    config = tmp_path / 'env_root.py'
    config.write_text("_base_ = ['{{$AVSSEG_ROOT:/nowhere}}/configs/combo/combo_tiny_synthetic_s4.py']\n")
    monkeypatch.setenv('AVSSEG_ROOT', REPO)
    reference = Config.fromfile(osp.join(REPO, 'configs', 'combo', 'combo_tiny_synthetic_s4.py'))
    assert Config.fromfile(str(config)).model == reference.model
