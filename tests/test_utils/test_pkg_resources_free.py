"""avsseg, its configs (with _base_ chains, `avsseg::` bases and custom_imports) and its tools work without
pkg_resources (setuptools >= 82 removed it; mmengine 0.10.7 needs it for `mmseg::`-style _base_ paths, which avsseg
resolves itself for its own scope)."""
import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

CHECK = r'''
import runpy
import sys

sys.modules['pkg_resources'] = None  # `import pkg_resources` now raises ModuleNotFoundError
try:
    import pkg_resources  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit('the pkg_resources block did not work')
from mmengine.utils import is_installed
try:
    is_installed('numpy')  # mmengine's only pkg_resources user: really cut off
except ImportError:
    pass
else:
    raise SystemExit('mmengine still reaches pkg_resources')

import avsseg
import avsseg.datasets, avsseg.engine, avsseg.evaluation, avsseg.models, avsseg.utils  # noqa: E401,F401
from mmengine.config import Config
from mmengine.registry import init_default_scope

from avsseg.registry import HOOKS, MODELS, VISUALIZERS

built = []
for path in sys.argv[1:]:
    cfg = Config.fromfile(path)  # relative _base_ chains, custom_imports
    assert cfg.default_scope == 'avsseg', path
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    vis_cfg = dict(cfg.visualizer, name=f'vis{len(built)}')
    visualizer = VISUALIZERS.build(vis_cfg)  # AVSLocalVisualizer (a SegLocalVisualizer) from default_runtime
    hook = HOOKS.build(cfg.default_hooks.visualization)
    built.append(f'{type(model).__name__}+{type(model.audio_backbone).__name__}+{type(visualizer).__name__}+'
                 f'{type(hook).__name__}')

# the tools import and parse their arguments
for tool in ('train.py', 'test.py'):
    sys.argv = [tool, '--help']
    try:
        runpy.run_path(f'tools/{tool}', run_name='__main__')
    except SystemExit as exc:
        assert exc.code == 0, (tool, exc.code)
assert sys.modules.get('pkg_resources') is None
print('BUILT', ' '.join(built))
'''


def test_avsseg_without_pkg_resources(tmp_path):
    plugin_dir = osp.join(REPO, 'projects', 'example_plugin')
    outside = tmp_path / 'outside_the_repo.py'  # a user's config inheriting by package scope
    outside.write_text("_base_ = ['avsseg::combo/combo_tiny_synthetic_s4.py']\n")
    configs = [
        osp.join(REPO, 'tests', 'data', 'configs', 'tpavi_tiny_synthetic_s4.py'),
        osp.join(plugin_dir, 'configs', 'tpavi_meanpool-audio_tiny_synthetic-s4.py'),
        str(outside),
    ]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, plugin_dir, os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run([sys.executable, '-c', CHECK, *configs], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert ('BUILT AudioVisualSegmentor+LogMelCNN+AVSLocalVisualizer+AVSVisualizationHook '
            'AudioVisualSegmentor+MeanPoolAudioEncoder+AVSLocalVisualizer+AVSVisualizationHook '
            'AudioVisualSegmentor+LogMelCNN+AVSLocalVisualizer+AVSVisualizationHook') in proc.stdout


def test_no_pkg_resources_in_sources():
    offenders = []
    for top in ('avsseg', 'tools', 'projects', 'configs'):
        for root, _, files in os.walk(osp.join(REPO, top)):
            for name in files:
                if name.endswith('.py'):
                    path = osp.join(root, name)
                    with open(path, encoding='utf-8') as f:
                        for lineno, line in enumerate(f, 1):
                            code = line.split('#')[0].replace('avsseg::', '')  # avsseg resolves its own scope
                            if 'pkg_resources' in code or '::' in code and '_base_' in code:
                                offenders.append(f'{path}:{lineno}: {line.strip()}')
    assert not offenders, offenders
