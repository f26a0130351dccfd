# Runtime settings shared by every avsseg config.
default_scope = 'avsseg'

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPUs; tools/train.py and tools/test.py switch to gloo on machines without CUDA, with a 600 s timeout
    # for a hung rank unless dist_cfg sets `timeout` (seconds).
    dist_cfg=dict(backend='nccl'),
)

# Hooks every run needs (avsseg/engine/hooks/); a config that sets its own custom_hooks keeps them with
# `custom_hooks = [*_base_.custom_hooks, dict(type=...)]`.
custom_hooks = [
    # random generator states in every checkpoint and restored on --resume: resumed runs are bit-exact
    dict(type='RNGStateHook'),
    # distributed runs: BatchNorm statistics averaged over the processes before each validation and checkpoint
    dict(type='DistBuffersSyncHook'),
    # the log interval is capped at one training epoch / validation / the run, so small sets still print progress
    dict(type='EpochLogIntervalHook'),
]

# default_hooks and log_processor live in the schedule bases (configs/_base_/schedules/), as in mmseg, so a
# config can list this file and a schedule in _base_ without duplicate keys.

vis_backends = [dict(type='LocalVisBackend')]
# TensorBoard is optional (`pip install tensorboard`; not installed by tools/setup_env.sh). A config enables it with
#   visualizer = dict(vis_backends=[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])
# (set `visualizer`, not `vis_backends`: the visualizer below has copied this list already). Losses, learning
# rate and metrics go to every backend; overlays too with default_hooks.visualization.draw=True (docs/inference.md).
# AVSVisualizationHook draws with it (one frame of a clip: ground truth | prediction, class colours from the
# dataset, contours, captions); alpha / contour_thickness / with_labels / max_size tune the drawing.
visualizer = dict(type='AVSLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_level = 'INFO'
load_from = None
resume = False
# The official AVSBench scripts fix the seed to 123.
randomness = dict(seed=123)
