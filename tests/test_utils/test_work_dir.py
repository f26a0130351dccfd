"""What tools/train.py does with a used work_dir: refuse, resume, overwrite; resolving last_checkpoint."""
import os

import pytest
from mmengine.config import Config

from avsseg.utils import WorkDirError, prepare_work_dir, resolve_last_checkpoint


def cfg_for(work_dir, **kwargs):
    return Config(dict(dict(work_dir=str(work_dir), resume=False, load_from=None), **kwargs))


def used_work_dir(path, name='iter_2.pth', pointer=None):
    path.mkdir(parents=True, exist_ok=True)
    (path / name).write_bytes(b'weights')
    (path / 'last_checkpoint').write_text(str(path / name) if pointer is None else pointer)
    return path


def test_fresh_work_dir(tmp_path):
    cfg = cfg_for(tmp_path / 'new')
    assert prepare_work_dir(cfg) == 'fresh'
    assert cfg.resume is False and cfg.load_from is None
    # logs of an earlier run without checkpoints do not make a work_dir "used"
    (tmp_path / 'logs_only').mkdir()
    (tmp_path / 'logs_only' / '20260101_000000.log').write_text('')
    assert prepare_work_dir(cfg_for(tmp_path / 'logs_only')) == 'fresh'


def test_used_work_dir_is_refused_without_a_flag(tmp_path):
    work_dir = used_work_dir(tmp_path / 'used')
    with pytest.raises(WorkDirError, match=r'holds checkpoints of an earlier run \(iter_2.pth, last_checkpoint\); '
                                           r'pass --resume to continue it, --overwrite'):
        prepare_work_dir(cfg_for(work_dir))
    # a checkpoint without the pointer counts too (the pointer is written after the file)
    os.remove(work_dir / 'last_checkpoint')
    with pytest.raises(WorkDirError, match=r'\(iter_2.pth\)'):
        prepare_work_dir(cfg_for(work_dir))
    cfg = cfg_for(work_dir)
    assert prepare_work_dir(cfg, overwrite=True) == 'overwrite'
    assert cfg.resume is False


def test_resume_reads_the_pointer_inside_the_work_dir(tmp_path):
    work_dir = used_work_dir(tmp_path / 'run')
    cfg = cfg_for(work_dir)
    assert prepare_work_dir(cfg, resume=True) == 'resume'
    assert cfg.resume is True and cfg.load_from == str(work_dir / 'iter_2.pth')
    # resume=True in the config means the same as --resume
    cfg = cfg_for(work_dir)
    cfg.resume = True
    assert prepare_work_dir(cfg) == 'resume' and cfg.load_from == str(work_dir / 'iter_2.pth')


def test_resume_without_checkpoint_fails_in_one_line(tmp_path):
    with pytest.raises(WorkDirError) as err:
        prepare_work_dir(cfg_for(tmp_path / 'empty'), resume=True)
    assert '\n' not in str(err.value)
    assert 'last_checkpoint does not exist, so there is no checkpoint to resume' in str(err.value)
    assert '--auto-resume' in str(err.value)
    # --auto-resume starts fresh instead ...
    cfg = cfg_for(tmp_path / 'empty')
    assert prepare_work_dir(cfg, auto_resume=True) == 'fresh' and cfg.resume is False
    # ... and resumes when there is a checkpoint
    work_dir = used_work_dir(tmp_path / 'run')
    cfg = cfg_for(work_dir)
    assert prepare_work_dir(cfg, auto_resume=True) == 'resume' and cfg.load_from == str(work_dir / 'iter_2.pth')
    # checkpoints but no pointer: nothing says which one to continue, and starting over would overwrite them
    os.remove(work_dir / 'last_checkpoint')
    with pytest.raises(WorkDirError, match='holds checkpoints'):
        prepare_work_dir(cfg_for(work_dir), auto_resume=True)


def test_copied_work_dir_resumes_its_own_checkpoint(tmp_path):
    original = used_work_dir(tmp_path / 'original')
    copy = used_work_dir(tmp_path / 'copy', pointer=str(original / 'iter_2.pth'))  # as cp -r leaves it
    assert resolve_last_checkpoint(str(copy)) == str(copy / 'iter_2.pth')
    # a relative pointer (work_dir given relative to the directory training was started from)
    relative = used_work_dir(tmp_path / 'relative', pointer='work_dirs/run/iter_2.pth')
    assert resolve_last_checkpoint(str(relative)) == str(relative / 'iter_2.pth')


def test_pointer_to_a_missing_file_is_refused(tmp_path):
    original = used_work_dir(tmp_path / 'original', name='iter_4.pth')
    copy = used_work_dir(tmp_path / 'copy', pointer=str(original / 'iter_4.pth'))
    with pytest.raises(WorkDirError, match=r'names .*original/iter_4.pth, but .*copy/iter_4.pth does not exist '
                                           r'\(it exists there, outside this work_dir: copy it in\)'):
        prepare_work_dir(cfg_for(copy), resume=True)
    (copy / 'last_checkpoint').write_text('')
    with pytest.raises(WorkDirError, match='is empty'):
        resolve_last_checkpoint(str(copy))
    assert resolve_last_checkpoint(str(tmp_path / 'no_such_dir')) is None


def test_load_from_with_resume_and_contradicting_flags(tmp_path):
    checkpoint = used_work_dir(tmp_path / 'elsewhere') / 'iter_2.pth'
    cfg = cfg_for(tmp_path / 'new', load_from=str(checkpoint))
    assert prepare_work_dir(cfg, resume=True) == 'resume' and cfg.resume is True
    with pytest.raises(WorkDirError, match='load_from=.*missing.pth does not exist'):
        prepare_work_dir(cfg_for(tmp_path / 'new', load_from=str(tmp_path / 'missing.pth')), resume=True)
    with pytest.raises(WorkDirError, match='cannot be combined'):
        prepare_work_dir(cfg_for(tmp_path / 'new'), resume=True, overwrite=True)
    # load_from without resume (fine-tuning) into a used work_dir is refused like any new run
    with pytest.raises(WorkDirError, match='holds checkpoints'):
        prepare_work_dir(cfg_for(checkpoint.parent, load_from=str(checkpoint)))
