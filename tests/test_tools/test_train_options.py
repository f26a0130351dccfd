"""tools/train.py options: work_dir protection, --resume without a checkpoint, --data-root, --iters, --threads,
num_workers=0, and a second clone's tools running that clone's code."""
import importlib.util
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
from tool_runner import REPO, TINY_S4, python_tool, tool_env


def load_train_tool():
    spec = importlib.util.spec_from_file_location('avsseg_tool_train_options', osp.join(REPO, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


train_tool = load_train_tool()


def parse(argv, monkeypatch):
    monkeypatch.setattr(sys, 'argv', ['train.py', *argv])
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    return train_tool.parse_args()


def test_data_root_iters_and_workers(monkeypatch, tmp_path):
    args = parse([TINY_S4, '--work-dir', str(tmp_path / 'w'), '--data-root', '/data/s4', '--iters', '8',
                  '--cfg-options', 'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=True'],
                 monkeypatch)
    cfg, notes = train_tool.build_config(args)
    assert [cfg[f'{s}_dataloader'].dataset.data_root for s in ('train', 'val', 'test')] == ['/data/s4'] * 3
    assert (cfg.train_cfg.max_iters, cfg.train_cfg.val_interval, cfg.default_hooks.checkpoint.interval) == (8, 4, 4)
    assert cfg.train_dataloader.persistent_workers is False
    assert '--data-root: train/val/test datasets read /data/s4' in notes
    iters_note = next(n for n in notes if n.startswith('--iters 8: '))
    for change in ('train_cfg.max_iters 4 -> 8', 'train_cfg.val_interval 2 -> 4',
                   'default_hooks.checkpoint.interval 2 -> 4'):
        assert change in iters_note
    assert 'num_workers=0: persistent_workers turned off for train_dataloader' in notes


def test_resume_flags_are_exclusive(monkeypatch, capsys):
    with pytest.raises(SystemExit):
        parse([TINY_S4, '--resume', '--overwrite'], monkeypatch)
    assert 'not allowed with argument' in capsys.readouterr().err
    args = parse([TINY_S4, '--auto-resume', '--threads', '2'], monkeypatch)
    assert args.auto_resume and not args.resume and args.threads == 2


def test_used_work_dir_and_missing_checkpoint_fail_in_one_line(tmp_path):
    used = tmp_path / 'used'
    used.mkdir()
    (used / 'iter_4.pth').write_bytes(b'')
    (used / 'last_checkpoint').write_text(str(used / 'iter_4.pth'))
    env = tool_env(tmp_path)
    for extra, message in (([], f'train.py: work_dir {used} holds checkpoints of an earlier run (iter_4.pth, '
                                'last_checkpoint); pass --resume to continue it'),
                           (['--work-dir', str(tmp_path / 'empty'), '--resume'],
                            'train.py: --resume: ' + str(tmp_path / 'empty' / 'last_checkpoint') + ' does not exist')):
        argv = ['--work-dir', str(used)] if not extra else []
        proc = subprocess.run(python_tool('train.py', TINY_S4, *argv, *extra), env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 1, proc.stderr[-3000:]
        assert proc.stderr.strip().splitlines()[-1].startswith(message), proc.stderr[-3000:]
        assert 'Traceback' not in proc.stderr
    assert sorted(os.listdir(used)) == ['iter_4.pth', 'last_checkpoint']  # nothing written


def test_second_clone_runs_its_own_code(tmp_path):
    """With this checkout installed, another clone's tools/train.py imports the other clone's avsseg."""
    clone = tmp_path / 'clone'
    (clone / 'tools').mkdir(parents=True)
    (clone / 'avsseg').mkdir()
    shutil.copy(osp.join(REPO, 'tools', 'train.py'), clone / 'tools' / 'train.py')
    (clone / 'avsseg' / '__init__.py').write_text("import sys\nprint('avsseg of the clone')\nsys.exit(7)\n")
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)  # as a user runs it: only the editable install of this checkout
    proc = subprocess.run([sys.executable, str(clone / 'tools' / 'train.py'), 'cfg.py'], env=env, cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 7 and 'avsseg of the clone' in proc.stdout, proc.stdout + proc.stderr[-3000:]
