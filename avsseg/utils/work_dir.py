"""What ``tools/train.py`` does with an existing work_dir: refuse to overwrite it, resume it, or say why it cannot.

mmengine 0.10.7 trains into a used work_dir without a word (its checkpoints are overwritten as the new run reaches
them), resumes from scratch when ``resume=True`` finds no checkpoint ("Did not find last_checkpoint to be
resumed." at INFO level), and resumes from whatever path ``last_checkpoint`` holds: an absolute path into the
original directory when the work_dir was copied, a relative one that only works from the directory training was
started in. :func:`prepare_work_dir` decides before the Runner is built.
"""
import glob
import os.path as osp
from typing import List, Optional

LAST_CHECKPOINT = 'last_checkpoint'


class WorkDirError(RuntimeError):
    """The work_dir cannot be used as asked (message is one line that says what to pass instead)."""


def work_dir_checkpoints(work_dir: str) -> List[str]:
    """Checkpoint files (``*.pth``) and mmengine's ``last_checkpoint`` pointer in ``work_dir``, sorted names."""
    if not osp.isdir(work_dir):
        return []
    names = [osp.basename(p) for p in glob.glob(osp.join(work_dir, '*.pth'))]
    if osp.isfile(osp.join(work_dir, LAST_CHECKPOINT)):
        names.append(LAST_CHECKPOINT)
    return sorted(names)


def resolve_last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``work_dir/last_checkpoint`` names, as a file inside ``work_dir``; None without the pointer.

    mmengine writes ``last_checkpoint`` as ``osp.join(work_dir, name)`` with the work_dir as it was given, so the
    pointer of a copied work_dir names the original's file, and a relative pointer depends on the directory the
    run was started from. Checkpoints are looked up by their file name in ``work_dir`` instead.

    Raises:
        WorkDirError: the pointer is empty, or its file is not in ``work_dir``.
    """
    pointer = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        named = f.read().strip()
    if not named:
        raise WorkDirError(f'{pointer} is empty; pass the checkpoint to resume with --cfg-options load_from=PATH '
                           f'--resume, or delete the file')
    local = osp.join(work_dir, osp.basename(named))
    if not osp.isfile(local):
        elsewhere = ' (it exists there, outside this work_dir: copy it in)' if osp.isfile(named) else ''
        raise WorkDirError(f'{pointer} names {named}, but {local} does not exist{elsewhere}; pass the checkpoint '
                           f'to resume with --cfg-options load_from=PATH --resume')
    return osp.abspath(local)


def prepare_work_dir(cfg, resume: bool = False, auto_resume: bool = False, overwrite: bool = False) -> str:
    """Decide how a training run uses ``cfg.work_dir``, and set ``cfg.resume`` / ``cfg.load_from`` accordingly.

    Args:
        cfg: the full config (``work_dir`` set; ``resume`` / ``load_from`` as the config and options have them).
        resume: ``--resume`` (or ``resume=True`` in the config): continue from the work_dir's last checkpoint, and
            fail when there is none.
        auto_resume: ``--auto-resume``: resume when the work_dir has a checkpoint, start fresh otherwise.
        overwrite: ``--overwrite``: train from scratch into a used work_dir (its checkpoints are replaced as the
            new run reaches them).

    Returns:
        ``'fresh'``, ``'resume'`` or ``'overwrite'``.

    Raises:
        WorkDirError: a used work_dir without any of the flags; ``--resume`` without a checkpoint; a
            ``last_checkpoint`` that names no file in the work_dir; contradicting flags.
    """
    work_dir = cfg.work_dir
    resume = resume or bool(cfg.get('resume', False))
    if overwrite and (resume or auto_resume):
        raise WorkDirError('--overwrite starts from scratch; it cannot be combined with --resume / --auto-resume '
                           '(or resume=True in the config)')
    load_from = cfg.get('load_from', None)
    if (resume or auto_resume) and load_from:
        # mmengine resumes from load_from when both are given: the work_dir's pointer is not read.
        if not osp.isfile(load_from):
            raise WorkDirError(f'load_from={load_from} does not exist; nothing to resume from')
        cfg.resume = True
        return 'resume'
    used = work_dir_checkpoints(work_dir)
    if resume or auto_resume:
        checkpoint = resolve_last_checkpoint(work_dir)
        if checkpoint is None:
            if auto_resume and not used:
                cfg.resume = False
                return 'fresh'
            if auto_resume:  # checkpoints without a pointer: which to continue is unknown, a new run overwrites
                _refuse_used(work_dir, used)
            raise WorkDirError(f'--resume: {osp.join(work_dir, LAST_CHECKPOINT)} does not exist, so there is no '
                               f'checkpoint to resume; use --auto-resume to start fresh when there is none')
        # Passed as load_from with resume=True, which mmengine resumes from (training state included).
        cfg.load_from = checkpoint
        cfg.resume = True
        return 'resume'
    if used and not overwrite:
        _refuse_used(work_dir, used)
    cfg.resume = False
    return 'overwrite' if used else 'fresh'


def _refuse_used(work_dir: str, used: List[str]) -> None:
    shown = ', '.join(used[:4]) + (f' and {len(used) - 4} more' if len(used) > 4 else '')
    raise WorkDirError(f'work_dir {work_dir} holds checkpoints of an earlier run ({shown}); pass --resume to '
                       f'continue it, --overwrite to train again from scratch into it, or another --work-dir')
