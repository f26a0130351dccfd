"""Selection of mmcv's multi-scale deformable attention kernel."""
import mmcv.ops.multi_scale_deform_attn as msda
import pytest
import torch

from avsseg.utils import mmcv_has_cuda_ops, select_deform_attn_kernel


@pytest.fixture
def restore_flag():
    saved = msda.IS_CUDA_AVAILABLE
    yield
    select_deform_attn_kernel()
    assert msda.IS_CUDA_AVAILABLE == saved


@pytest.mark.parametrize('cuda_available,has_ops,expected', [
    (True, True, 'cuda'), (True, False, 'pytorch'), (False, True, 'pytorch'), (False, False, 'pytorch')])
def test_selection(restore_flag, cuda_available, has_ops, expected):
    assert select_deform_attn_kernel(has_cuda_ops=has_ops, cuda_available=cuda_available) == expected
    assert msda.IS_CUDA_AVAILABLE is (expected == 'cuda')


@pytest.mark.skipif(not (torch.cuda.is_available() and mmcv_has_cuda_ops()),
                    reason='needs a GPU and an mmcv build with CUDA ops')
def test_cuda_kernel_equals_pytorch_version():
    from mmcv.ops.multi_scale_deform_attn import MultiScaleDeformableAttnFunction, multi_scale_deformable_attn_pytorch
    torch.manual_seed(0)
    shapes = torch.tensor([[8, 8], [4, 4]], device='cuda')
    start = torch.tensor([0, 64], device='cuda')
    value = torch.randn(2, 80, 2, 4, device='cuda')
    loc = torch.rand(2, 10, 2, 2, 3, 2, device='cuda')
    weights = torch.rand(2, 10, 2, 2, 3, device='cuda').flatten(-2).softmax(-1).view(2, 10, 2, 2, 3)
    kernel = MultiScaleDeformableAttnFunction.apply(value, shapes, start, loc, weights, 64)
    reference = multi_scale_deformable_attn_pytorch(value, shapes, loc, weights)
    torch.testing.assert_close(kernel, reference, rtol=1e-4, atol=1e-5)
