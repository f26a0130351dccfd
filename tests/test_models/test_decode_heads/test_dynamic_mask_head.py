import pytest
import torch
import torch.nn.functional as F

from avsseg.models.decode_heads import DynamicMaskHead
from avsseg.registry import MODELS


def _inputs(n=3, q=4, c=16, cm=6, h=5, w=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    query = torch.randn(n, q, c, generator=g)
    feats = torch.randn(n, cm, h, w, generator=g)
    ref = torch.rand(n, q, 2, generator=g) * torch.tensor([4.0 * w, 4.0 * h])
    return query, feats, ref


def _head(**kwargs):
    cfg = dict(type='DynamicMaskHead', in_channels=16, mask_channels=6, channels=5, num_layers=3)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_parameter_count_referformer():
    head = DynamicMaskHead(in_channels=256, mask_channels=256, channels=8, num_layers=3)
    assert head.num_gen_params == 2153 == (256 + 2) * 8 + 8 * 8 + 8 * 1 + (8 + 8 + 1)
    assert head.controller.layers[-1].out_features == 2153 and len(head.controller.layers) == 2
    assert DynamicMaskHead(mask_channels=256, rel_coord=False).num_gen_params == 2153 - 16


def test_grouped_conv_equals_per_instance_loop():
    # spec test 4: the grouped implementation equals a Python loop of F.conv2d per (frame, query)
    torch.manual_seed(0)
    head = _head()
    query, feats, ref = _inputs()
    out = head(query, feats, ref)
    assert out.shape == (3, 4, 5, 7)
    params = head.controller(query)
    s = head.mask_stride
    for n in range(3):
        for q in range(4):
            p = params[n, q]
            ws, rest = [], p
            sizes = [(5, 8), (5, 5), (1, 5)]
            for o, i in sizes:
                ws.append(rest[:o * i].reshape(o, i, 1, 1))
                rest = rest[o * i:]
            bs = [rest[:5], rest[5:10], rest[10:11]]
            assert rest.numel() == 11
            xs = torch.arange(7.0) * s + s // 2
            ys = torch.arange(5.0) * s + s // 2
            coords = torch.stack([(ref[n, q, 0] - xs).view(1, 7).expand(5, 7),
                                  (ref[n, q, 1] - ys).view(5, 1).expand(5, 7)])
            x = torch.cat([feats[n], coords])[None]
            for k, (wk, bk) in enumerate(zip(ws, bs)):
                x = F.conv2d(x, wk, bk)
                if k < 2:
                    x = F.relu(x)
            torch.testing.assert_close(out[n, q], x[0, 0], rtol=1e-5, atol=1e-5)


def test_permutation_equivariance_and_no_batch_mixing():
    torch.manual_seed(0)
    head = _head()
    query, feats, ref = _inputs()
    out = head(query, feats, ref)
    perm = torch.tensor([2, 0, 3, 1])
    torch.testing.assert_close(head(query[:, perm], feats, ref[:, perm]), out[:, perm])
    # changing frame 2's kernels (queries) and reference points leaves frames 0 and 1 unchanged
    query2, ref2 = query.clone(), ref.clone()
    query2[2] += 1.0
    ref2[2] += 3.0
    out2 = head(query2, feats, ref2)
    torch.testing.assert_close(out2[:2], out[:2])
    assert not torch.allclose(out2[2], out[2])
    feats2 = feats.clone()
    feats2[1] *= -1
    out3 = head(query, feats2, ref)
    torch.testing.assert_close(out3[[0, 2]], out[[0, 2]])


def test_relative_coordinates():
    # spec test 5: the two extra channels are ref_x - (4x + 2) and ref_y - (4y + 2)
    head = _head()
    ref = torch.tensor([[[10.0, 3.0]]])
    coords = head.relative_coords(ref, 2, 3)
    assert coords.shape == (1, 1, 2, 2, 3)
    torch.testing.assert_close(coords[0, 0, 0], torch.tensor([[8.0, 4.0, 0.0], [8.0, 4.0, 0.0]]))
    torch.testing.assert_close(coords[0, 0, 1], torch.tensor([[1.0, 1.0, 1.0], [-3.0, -3.0, -3.0]]))


def test_relative_coordinates_end_to_end():
    # all dynamic weights 0 except an identity path from the x-coordinate channel; ref_x beyond the image width
    # keeps it positive through the ReLUs, so the output is ref_x - (4x + 2)
    head = _head(channels=2)
    cm, ch = 6, 2
    params = torch.zeros(head.num_gen_params)
    params[cm] = 1.0  # layer 0 weight [out 0, in cm] (the x-coordinate channel)
    offset = (cm + 2) * ch
    params[offset] = 1.0  # layer 1 weight [0, 0]
    offset += ch * ch
    params[offset] = 1.0  # layer 2 weight [0, 0]
    with torch.no_grad():
        head.controller.layers[-1].weight.zero_()
        head.controller.layers[-1].bias.copy_(params)
    h, w = 3, 4
    query = torch.randn(2, 3, 16)
    ref = torch.stack([torch.full((2, 3), 100.0) + torch.arange(3.0), torch.randn(2, 3)], dim=-1)
    out = head(query, torch.randn(2, cm, h, w), ref)
    expected = ref[..., 0, None, None] - (4 * torch.arange(w, dtype=torch.float32) + 2).view(1, 1, 1, w)
    torch.testing.assert_close(out, expected.expand(2, 3, h, w))


def test_without_coordinates_and_errors():
    head = _head(rel_coord=False)
    query, feats, _ = _inputs()
    assert head(query, feats).shape == (3, 4, 5, 7)
    with pytest.raises(ValueError, match='ref_points must be'):
        _head()(query, feats)
    with pytest.raises(ValueError, match='mask_feats must be'):
        _head()(query, feats[:, :4], None)
    with pytest.raises(ValueError, match='query must be'):
        _head()(query[..., :3], feats, None)


def test_gradients_reach_controller_and_features():
    head = _head()
    query, feats, ref = _inputs()
    feats.requires_grad_(True)
    head(query, feats, ref).sum().backward()
    assert head.controller.layers[0].weight.grad.abs().sum() > 0 and feats.grad.abs().sum() > 0
