"""Local pretrained-weight files named in a model config: find them, check them before a run, drop them for tests.

Configs name weights as local files (nothing is downloaded): ``init_cfg=dict(type='Pretrained',
checkpoint=...)`` on any module, and ``pretrained=`` / ``pca_params=`` on avsseg's audio backbones. A missing file
would otherwise surface deep inside model construction or ``init_weights``, after the data loaders were built;
:func:`check_weight_files` reports every missing file at once with the ``--cfg-options`` that start the part from
random weights instead. For evaluation the checkpoint holds every weight, so :func:`drop_missing_weight_files`
lets ``tools/test.py`` run without the pretraining files.
"""
import os.path as osp
from typing import Any, List, Tuple

#: Keys of a module config that hold a local weight file (``stage1_checkpoint``: AVSCSegmentor's frozen stage 1).
WEIGHT_KEYS = ('pretrained', 'pca_params', 'stage1_checkpoint')


def _is_local(path: Any) -> bool:
    return isinstance(path, str) and '://' not in path


def find_weight_files(model_cfg: Any, prefix: str = 'model') -> List[Tuple[str, str]]:
    """All local weight files named in a model config.

    Args:
        model_cfg: the ``model`` config (dicts and lists, nested).
        prefix: key path of ``model_cfg`` in the whole config.

    Returns:
        ``(key, path)`` pairs: ``key`` is the ``--cfg-options`` key that disables the file (the ``init_cfg`` for
        ``Pretrained`` inits, the key itself for ``pretrained`` / ``pca_params``), ``path`` the file. URLs
        (``xxx://``) are not local and not listed.
    """
    found = []
    if isinstance(model_cfg, dict):
        init_cfg = model_cfg.get('init_cfg')
        inits = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
        for init in inits:
            if isinstance(init, dict) and init.get('type') == 'Pretrained' and _is_local(init.get('checkpoint')):
                # a list of inits is disabled as a whole (the module falls back to its default init)
                found.append((f'{prefix}.init_cfg', init['checkpoint']))
        for key in WEIGHT_KEYS:
            if _is_local(model_cfg.get(key)):
                found.append((f'{prefix}.{key}', model_cfg[key]))
        for key, value in model_cfg.items():
            if key != 'init_cfg':
                found.extend(find_weight_files(value, f'{prefix}.{key}'))
    elif isinstance(model_cfg, (list, tuple)):
        for i, value in enumerate(model_cfg):
            found.extend(find_weight_files(value, f'{prefix}.{i}'))
    return found


def missing_weight_files(cfg: Any) -> List[Tuple[str, str]]:
    """The ``(key, path)`` pairs of :func:`find_weight_files` whose file does not exist.

    A folder counts as present: transformers models (``HFAudioTagger`` / ``HFAudioEncoder``) are loaded from the
    folder ``save_pretrained`` writes; the module checks its contents when it is built.
    """
    return [(key, path) for key, path in find_weight_files(cfg.get('model', {})) if not osp.exists(path)]


def check_weight_files(cfg: Any, config_name: str = 'the config') -> None:
    """Raise ``FileNotFoundError`` naming every missing local weight file of ``cfg.model``.

    The message lists the files, what to put there, and the ``--cfg-options`` that train those parts from random
    weights instead.
    """
    missing = missing_weight_files(cfg)
    if not missing:
        return
    lines = '\n'.join(f'  {path}   ({key})' for key, path in missing)
    options = ' '.join(dict.fromkeys(f'{key}=None' for key, _ in missing))
    raise FileNotFoundError(
        f'{config_name} names pretrained weight files that do not exist:\n{lines}\n'
        'Put the files there (nothing is downloaded; the config comments say which weights and how to convert '
        'them), or start these parts from random weights with\n'
        f'  --cfg-options {options}')


def drop_missing_weight_files(cfg: Any) -> List[Tuple[str, str]]:
    """Set every missing local weight file of ``cfg.model`` to None (the whole ``init_cfg`` for ``Pretrained``).

    For evaluation, where a checkpoint overwrites every weight. Returns the ``(key, path)`` pairs dropped.
    """
    missing = missing_weight_files(cfg)
    for key, _ in missing:
        *parents, last = key.split('.')
        node = cfg
        for part in parents:
            node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
        node[last] = None  # the last key always names a dict entry (init_cfg / pretrained / pca_params)
    return missing
