"""tools/analysis_tools/cache_stage1.py + LoadClipInstanceSet: the cached potential instance sets equal the online
ones of AVSCSegmentor bit for bit, and a cache from another checkpoint or other filter settings is refused."""
import copy
import os.path as osp
import sys

import pytest
import torch
from mmengine.registry import init_default_scope
from tool_runner import REPO

from avsseg.datasets.synthetic import generate_synthetic_avsbench
from avsseg.datasets.transforms import avs_collate
from avsseg.registry import DATASETS, MODELS
from avsseg.testing import get_config

sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
import cache_stage1  # noqa: E402

init_default_scope('avsseg')
STAGE2 = osp.join(REPO, 'configs', 'cmms', 'cmms_avsc_tiny_synthetic_s4_stage2.py')
QUERIES = 'model.decode_head.num_queries=4'


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('cache')
    data_root = tmp / 'data'
    generate_synthetic_avsbench(str(data_root), 's4', seed=0, num_videos=4, image_size=32,
                                split_ratios=(0.5, 0.25, 0.25))
    cfg = get_config('cmms/cmms_psos_tiny_synthetic_s4_stage1.py').model
    cfg.decode_head.num_queries = 4
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    with torch.no_grad():
        model.decode_head.cls_embed.bias[:-1] += 3.0  # confident queries, so the sets are not empty
    ckpt = tmp / 'stage1.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    out = tmp / 'cache_test'
    assert cache_stage1.main([STAGE2, str(ckpt), '--split', 'test', '--out', str(out), '--data-root',
                              str(data_root), '--cfg-options', QUERIES]) == 0
    return tmp, data_root, ckpt, out


def stage2(ckpt, source):
    cfg = get_config('cmms/cmms_avsc_tiny_synthetic_s4_stage2.py')
    cfg.model.decode_head.num_queries = 4
    cfg.model.stage1_checkpoint = str(ckpt)
    cfg.model.instance_source = source
    return cfg, MODELS.build(cfg.model).eval()


def cached_dataset(cfg, data_root, out, ckpt, **loader_args):
    ds = copy.deepcopy(cfg.test_dataloader.dataset)
    ds.data_root = str(data_root)
    ds.pipeline.insert(-1, dict(type='LoadClipInstanceSet', cache_root=str(out), stage1_checkpoint=str(ckpt),
                                **loader_args))
    return DATASETS.build(ds)


def test_cached_sets_equal_online_sets(setup):
    _, data_root, ckpt, out = setup
    cfg, online = stage2(ckpt, 'online')
    _, cached = stage2(ckpt, 'cache')
    cached.load_state_dict(online.state_dict())  # the same (random) audio branch
    dataset = cached_dataset(cfg, data_root, out, ckpt)
    total = 0
    for idx in range(len(dataset)):
        data = online.data_preprocessor(avs_collate([dataset[idx]]), False)
        a = online.potential_instances(data['inputs'], data['data_samples'])
        b = cached.potential_instances(data['inputs'], data['data_samples'])
        for x, y in zip(a, b):
            assert torch.equal(x.labels, y.labels) and torch.equal(x.masks, y.masks)
            total += len(x)
        with torch.no_grad():
            pa = online.predict(data['inputs'], copy.deepcopy(data['data_samples']))
            pb = cached.predict(data['inputs'], copy.deepcopy(data['data_samples']))
        for x, y in zip(pa, pb):
            assert torch.allclose(x.seg_logits.data, y.seg_logits.data, atol=1e-5)
    assert total > 0


def test_cache_of_another_checkpoint_or_filter_is_refused(setup):
    tmp, data_root, ckpt, out = setup
    state = torch.load(ckpt, weights_only=False)
    state['state_dict']['decode_head.cls_embed.bias'] += 1
    other = tmp / 'other.pth'
    torch.save(state, other)
    cfg, _ = stage2(ckpt, 'cache')
    with pytest.raises(ValueError, match='sha256'):
        cached_dataset(cfg, data_root, out, other)[0]
    with pytest.raises(ValueError, match='filter settings'):
        cached_dataset(cfg, data_root, out, ckpt, instance_filter='two_phase')[0]
    with pytest.raises(FileNotFoundError, match='cache_meta.json'):
        cached_dataset(cfg, data_root, tmp / 'nowhere', ckpt)[0]
