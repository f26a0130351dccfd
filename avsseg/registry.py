"""avsseg registries: children of mmseg's (and, for FUNCTIONS, of mmengine's) under the scope ``avsseg``.

Looking a name up in an avsseg registry searches avsseg first, then mmseg, then mmengine. mmdet parts are
reached from configs with the ``mmdet.`` prefix (e.g. ``type='mmdet.HungarianAssigner'``).

Third-party packages register into these registries (``from avsseg.registry import MODELS``) and are
imported by a config's ``custom_imports``; see ``docs/plugins.md``.
"""
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import Registry
from mmseg.registry import DATA_SAMPLERS as MMSEG_DATA_SAMPLERS
from mmseg.registry import DATASETS as MMSEG_DATASETS
from mmseg.registry import EVALUATOR as MMSEG_EVALUATOR
from mmseg.registry import HOOKS as MMSEG_HOOKS
from mmseg.registry import INFERENCERS as MMSEG_INFERENCERS
from mmseg.registry import LOG_PROCESSORS as MMSEG_LOG_PROCESSORS
from mmseg.registry import LOOPS as MMSEG_LOOPS
from mmseg.registry import METRICS as MMSEG_METRICS
from mmseg.registry import MODEL_WRAPPERS as MMSEG_MODEL_WRAPPERS
from mmseg.registry import MODELS as MMSEG_MODELS
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMSEG_OPTIM_WRAPPER_CONSTRUCTORS
from mmseg.registry import OPTIM_WRAPPERS as MMSEG_OPTIM_WRAPPERS
from mmseg.registry import OPTIMIZERS as MMSEG_OPTIMIZERS
from mmseg.registry import PARAM_SCHEDULERS as MMSEG_PARAM_SCHEDULERS
from mmseg.registry import RUNNER_CONSTRUCTORS as MMSEG_RUNNER_CONSTRUCTORS
from mmseg.registry import RUNNERS as MMSEG_RUNNERS
from mmseg.registry import TASK_UTILS as MMSEG_TASK_UTILS
from mmseg.registry import TRANSFORMS as MMSEG_TRANSFORMS
from mmseg.registry import VISBACKENDS as MMSEG_VISBACKENDS
from mmseg.registry import VISUALIZERS as MMSEG_VISUALIZERS
from mmseg.registry import WEIGHT_INITIALIZERS as MMSEG_WEIGHT_INITIALIZERS

RUNNERS = Registry('runner', parent=MMSEG_RUNNERS, scope='avsseg')
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor', parent=MMSEG_RUNNER_CONSTRUCTORS, scope='avsseg')
LOOPS = Registry(
    'loop', parent=MMSEG_LOOPS, scope='avsseg', locations=['avsseg.engine'])
HOOKS = Registry(
    'hook', parent=MMSEG_HOOKS, scope='avsseg', locations=['avsseg.engine'])
DATASETS = Registry(
    'dataset',
    parent=MMSEG_DATASETS,
    scope='avsseg',
    locations=['avsseg.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler',
    parent=MMSEG_DATA_SAMPLERS,
    scope='avsseg',
    locations=['avsseg.datasets'])
TRANSFORMS = Registry(
    'transform',
    parent=MMSEG_TRANSFORMS,
    scope='avsseg',
    locations=['avsseg.datasets.transforms'])
FUNCTIONS = Registry(
    'function',
    parent=MMENGINE_FUNCTIONS,
    scope='avsseg',
    locations=['avsseg.datasets'])
MODELS = Registry(
    'model', parent=MMSEG_MODELS, scope='avsseg', locations=['avsseg.models'])
MODEL_WRAPPERS = Registry(
    'model wrapper',
    parent=MMSEG_MODEL_WRAPPERS,
    scope='avsseg',
    locations=['avsseg.utils'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer',
    parent=MMSEG_WEIGHT_INITIALIZERS,
    scope='avsseg',
    locations=['avsseg.models'])
OPTIMIZERS = Registry(
    'optimizer',
    parent=MMSEG_OPTIMIZERS,
    scope='avsseg',
    locations=['avsseg.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper',
    parent=MMSEG_OPTIM_WRAPPERS,
    scope='avsseg',
    locations=['avsseg.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMSEG_OPTIM_WRAPPER_CONSTRUCTORS,
    scope='avsseg',
    locations=['avsseg.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMSEG_PARAM_SCHEDULERS,
    scope='avsseg',
    locations=['avsseg.engine'])
METRICS = Registry(
    'metric',
    parent=MMSEG_METRICS,
    scope='avsseg',
    locations=['avsseg.evaluation'])
EVALUATOR = Registry(
    'evaluator',
    parent=MMSEG_EVALUATOR,
    scope='avsseg',
    locations=['avsseg.evaluation'])
TASK_UTILS = Registry(
    'task util',
    parent=MMSEG_TASK_UTILS,
    scope='avsseg',
    locations=['avsseg.models'])
VISUALIZERS = Registry(
    'visualizer',
    parent=MMSEG_VISUALIZERS,
    scope='avsseg',
    locations=['avsseg.visualization'])
VISBACKENDS = Registry(
    'vis_backend',
    parent=MMSEG_VISBACKENDS,
    scope='avsseg',
    locations=['avsseg.visualization'])
LOG_PROCESSORS = Registry(
    'log_processor',
    parent=MMSEG_LOG_PROCESSORS,
    scope='avsseg',
    locations=['avsseg.visualization'])
INFERENCERS = Registry(
    'inferencer',
    parent=MMSEG_INFERENCERS,
    scope='avsseg',
    locations=['avsseg.apis'])
