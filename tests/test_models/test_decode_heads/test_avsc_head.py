"""AVSCHead: Eq. 1 composition, L_avc on labelled frames, sigmoid vs softmax, the logit(S) prediction (seed001 §7)."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData, PixelData
from mmseg.structures import SegDataSample

from avsseg.models.decode_heads import AVSCHead

K, H, W = 4, 6, 5


def instance_set(labels, seed):
    g = torch.Generator().manual_seed(seed)
    return InstanceData(labels=torch.tensor(labels, dtype=torch.long),
                        masks=torch.rand(len(labels), H, W, generator=g) > 0.5)


def sample(gt, labeled=True):
    s = SegDataSample(metainfo=dict(is_labeled=labeled, is_padded=False, img_path=f'frame{int(labeled)}.jpg'))
    s.gt_sem_seg = PixelData(data=gt[None])
    return s


def test_eq1_sum_of_weighted_masks_on_random_inputs():
    head = AVSCHead(num_classes=K, in_channels=3, eps=1e-6)
    probs = torch.rand(2, K) * 0.5  # keep the sums below 1 - eps so the clamp does not bite
    sets = [instance_set([0, 2], 0), instance_set([3], 1)]
    s_map = head.compose(probs, sets)
    for n, inst in enumerate(sets):
        expected = sum(probs[n, c] * m.float() for c, m in zip(inst.labels, inst.masks))
        assert torch.allclose(s_map[n], expected.clamp(1e-6, 1 - 1e-6))


def test_one_hot_scores_select_that_category_and_zero_scores_empty_the_frame():
    head = AVSCHead(num_classes=K, in_channels=3)
    inst = instance_set([1, 3], 2)
    probs = torch.zeros(1, K)
    probs[0, 3] = 1
    s_map = head.compose(probs, [inst])[0]
    assert torch.equal(s_map > 0.5, inst.masks[1])
    assert not (head.compose(torch.zeros(1, K), [inst])[0] > 0.5).any()
    empty = InstanceData(labels=torch.zeros(0, dtype=torch.long), masks=torch.zeros(0, H, W, dtype=torch.bool))
    assert not (head.compose(torch.ones(1, K), [empty])[0] > 0.5).any()


def test_sigmoid_can_predict_nothing_softmax_cannot():
    audio = torch.randn(3, 8)
    sig = AVSCHead(num_classes=K, in_channels=8, hidden_channels=(), activation='sigmoid')
    soft = AVSCHead(num_classes=K, in_channels=8, hidden_channels=(), activation='softmax')
    with torch.no_grad():
        for head in (sig, soft):
            head.mlp[-1].bias.fill_(-20.0)
    assert sig(audio).max() < 1e-6
    assert torch.allclose(soft(audio).sum(-1), torch.ones(3))
    sets = [InstanceData(labels=torch.arange(K), masks=torch.eye(K, H * W, dtype=torch.bool).view(K, H, W))] * 3
    assert not (sig.compose(sig(audio), sets) > 0.5).any()


def test_compose_options_and_overlap_clamp():
    inst = InstanceData(labels=torch.tensor([0, 1]), masks=torch.ones(2, H, W, dtype=torch.bool))
    probs = torch.tensor([[0.7, 0.6, 0.0, 0.0]])
    assert torch.allclose(AVSCHead(K, 3, compose='sum').compose(probs, [inst]), torch.full((1, H, W), 1 - 1e-6))
    assert torch.allclose(AVSCHead(K, 3, compose='max').compose(probs, [inst]), torch.full((1, H, W), 0.7))
    assert torch.allclose(AVSCHead(K, 3, compose='noisy_or').compose(probs, [inst]), torch.full((1, H, W), 0.88))


def test_loss_is_bce_on_labelled_frames_without_ignored_pixels():
    head = AVSCHead(num_classes=K, in_channels=5, hidden_channels=(7, ))
    audio = torch.randn(2, 5, requires_grad=True)
    sets = [instance_set([0, 1], 3), instance_set([2], 4)]
    gt = (torch.rand(H, W) > 0.5).long()
    gt[0, :] = 255
    unlabelled_gt = torch.full((H, W), 255, dtype=torch.long)
    losses = head.loss(audio, sets, [sample(gt), sample(unlabelled_gt, labeled=False)])
    s_map = head.compose(head(audio[:1]), sets[:1])[0]
    valid = gt != 255
    expected = F.binary_cross_entropy(s_map[valid], gt[valid].float())
    assert torch.allclose(losses['loss_avc'], expected)
    losses['loss_avc'].backward()
    assert audio.grad[0].abs().sum() > 0 and audio.grad[1].abs().sum() == 0  # the unlabelled frame adds nothing


def test_gradient_reaches_only_the_covered_categories():
    head = AVSCHead(num_classes=K, in_channels=5, hidden_channels=())
    probs = torch.full((1, K), 0.3, requires_grad=True)
    inst = instance_set([2], 5)
    loss = F.binary_cross_entropy(head.compose(probs, [inst]), torch.ones(1, H, W))
    loss.backward()
    assert probs.grad[0, 2] != 0 and torch.count_nonzero(probs.grad) == 1


def test_predict_is_the_logit_of_s():
    head = AVSCHead(num_classes=K, in_channels=5)
    audio = torch.randn(2, 5)
    sets = [instance_set([0, 3], 6), instance_set([1], 7)]
    logits = head.predict(audio, sets)
    assert logits.shape == (2, 1, H, W)
    assert torch.allclose(torch.sigmoid(logits[:, 0]), head.compose(head(audio), sets), atol=1e-6)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match='activation'):
        AVSCHead(K, 3, activation='relu')
    head = AVSCHead(K, 3)
    with pytest.raises(ValueError, match=r'\[N, 3\]'):
        head(torch.randn(2, 4))
    with pytest.raises(ValueError, match='outside 0..3'):
        head.compose(torch.rand(1, K), [instance_set([4], 0)])
    with pytest.raises(ValueError, match='no frame of the batch is labelled'):
        head.loss(torch.randn(1, 3), [instance_set([0], 0)], [sample(torch.zeros(H, W).long(), labeled=False)])
