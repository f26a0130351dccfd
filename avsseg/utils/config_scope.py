"""``_base_ = ['avsseg::combo/combo_r50_s4.py']``: configs outside the repository inherit avsseg's by package scope.

mmengine 0.10.7 resolves ``scope::path`` bases (``Config._get_cfg_path``) only for the OpenMMLab packages in its
``MODULE2PACKAGE`` table, through setuptools' package-resources API (``is_installed``, ``get_installed_path``;
setuptools >= 82 no longer ships it) and a ``.mim/configs`` copy made by the package's ``setup.py``; for an
editable install ``get_installed_path`` also points into site-packages, where no configs are.
:func:`enable_avsseg_config_scope` (called by ``import avsseg``) wraps ``Config._get_cfg_path`` so that
``avsseg::<path>`` resolves to ``<avsseg checkout>/configs/<path>``, the checkout whose ``avsseg`` package is
imported, and hands every other path to mmengine unchanged. An ``avsseg::`` base behaves exactly as a relative
path to the same file (no ``_scope_`` is added to its parts), so ``default_scope`` and ``custom_imports`` work as
with relative bases.
"""
import os.path as osp
from typing import Optional, Tuple

from mmengine.config import Config

SCOPE_PREFIX = 'avsseg::'
_original_get_cfg_path = None


def repo_root() -> str:
    """The checkout (or install prefix) holding the imported ``avsseg`` package: the parent of its folder."""
    return osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def configs_root() -> str:
    """The ``configs/`` folder of the checkout holding the imported ``avsseg`` package."""
    return osp.join(repo_root(), 'configs')


def resolve_avsseg_config(cfg_path: str) -> str:
    """``avsseg::combo/combo_r50_s4.py`` -> the absolute path of ``configs/combo/combo_r50_s4.py`` of this checkout.

    Raises:
        FileNotFoundError: naming the path looked for (a non-editable install has no ``configs/``).
    """
    relative = cfg_path[len(SCOPE_PREFIX):]
    configs = configs_root()
    path = osp.normpath(osp.join(configs, relative))
    if not osp.isdir(configs):
        raise FileNotFoundError(f'{cfg_path}: avsseg is imported from {repo_root()}, which has no configs/ folder; '
                                f'avsseg:: bases need avsseg installed from a checkout (pip install -e)')
    if not path.startswith(configs + osp.sep):
        raise FileNotFoundError(f'{cfg_path}: the path leaves {configs}')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{cfg_path}: {path} does not exist')
    return path


def enable_avsseg_config_scope() -> None:
    """Let ``Config.fromfile`` resolve ``avsseg::`` bases (idempotent; see the module docstring)."""
    global _original_get_cfg_path
    if _original_get_cfg_path is not None:
        return
    _original_get_cfg_path = Config._get_cfg_path

    def _get_cfg_path(cfg_path: str, filename: str) -> Tuple[str, Optional[str]]:
        if isinstance(cfg_path, str) and cfg_path.startswith(SCOPE_PREFIX):
            return resolve_avsseg_config(cfg_path), None
        return _original_get_cfg_path(cfg_path, filename)

    _get_cfg_path.__doc__ = _original_get_cfg_path.__doc__
    Config._get_cfg_path = staticmethod(_get_cfg_path)
