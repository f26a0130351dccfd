import pytest
import torch
from tiny_mask2former import BASE, SIZE, build_head, feats, samples, seeded_loss

from avsseg.models.decode_heads import AudioQueryMask2FormerHead, COMBOHead
from avsseg.registry import MODELS
from avsseg.testing import get_config


def test_is_the_shared_decoder_with_combo_hooks():
    """COMBO adds only its hooks; the decoder loop, the losses on labelled frames and the inference are shared."""
    assert issubclass(COMBOHead, AudioQueryMask2FormerHead)
    for name in ('forward', 'decode', 'loss', 'predict', 'predict_by_feat', 'decoder_layer_forward'):
        assert getattr(COMBOHead, name) is getattr(AudioQueryMask2FormerHead, name), name
    for name in ('fuse_pixel_features', 'init_queries', 'extra_losses'):
        assert getattr(COMBOHead, name) is not getattr(AudioQueryMask2FormerHead, name), name


def test_forward_shapes_and_loss_keys():
    head = build_head()
    inputs = feats(6, num_frames=3)
    cls_list, mask_list = head(inputs)
    assert len(cls_list) == len(mask_list) == 4  # initial queries + 3 layers
    assert cls_list[-1].shape == (6, 4, 3) and mask_list[-1].shape == (6, 4, SIZE // 4, SIZE // 4)
    losses = seeded_loss(head, inputs, samples(2, 3))
    expected = {'loss_cls', 'loss_mask', 'loss_dice'}
    expected |= {f'd{i}.{k}' for i in range(3) for k in ('loss_cls', 'loss_mask', 'loss_dice', 'loss_ada')}
    assert set(losses) == expected  # loss_ada on every prediction but the last (official intermediate layers)
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert head.audio_mlp.layers[0].weight.grad is not None
    assert head.fusion.gamma_v[0].grad is not None and head.fusion.gamma_a.grad is not None


def test_s4_supervision_uses_labelled_frames_and_ada_uses_all_frames():
    head = build_head()
    head.eval()  # no dropout: passes are comparable
    inputs = feats(6, num_frames=3)
    labeled = [True, False, False]  # S4 training: only frame 1 has a mask
    s1 = samples(2, 3, labeled, seed=1)
    s2 = samples(2, 3, labeled, seed=2)  # other masks on every frame
    s_unlabelled_changed = samples(2, 3, labeled, seed=2)
    for i in (0, 3):  # same masks on the labelled frames, other masks on the unlabelled ones
        s_unlabelled_changed[i].gt_sem_seg = s1[i].gt_sem_seg
    base = seeded_loss(head, inputs, s1)
    same_labelled = seeded_loss(head, inputs, s_unlabelled_changed)
    other_labelled = seeded_loss(head, inputs, s2)
    supervised = [k for k in base if 'loss_ada' not in k]
    for k in base:
        torch.testing.assert_close(base[k], same_labelled[k])
    assert any(not torch.allclose(base[k], other_labelled[k]) for k in supervised)

    # the inter-frame loss sees frames 2 and 3: their features change it and receive its gradient
    visual2 = tuple(v.clone() for v in inputs)
    for v in visual2:
        v[2] = torch.randn_like(v[2])
    moved = seeded_loss(head, inputs.replace(visual=visual2), s1)
    assert not torch.allclose(base['d0.loss_ada'], moved['d0.loss_ada'])
    leaf = inputs[0].clone().requires_grad_(True)
    losses = seeded_loss(head, inputs.replace(visual=(leaf, ) + inputs[1:]), s1)
    sum(v for k, v in losses.items() if 'loss_ada' in k).backward(retain_graph=True)
    assert leaf.grad[[1, 2, 4, 5]].abs().sum() > 0
    # frames are decoded independently, so the supervised losses give unlabelled frames no gradient
    leaf.grad = None
    sum(v for k, v in losses.items() if 'loss_ada' not in k).backward()
    assert leaf.grad[[0, 3]].abs().sum() > 0 and leaf.grad[[1, 2, 4, 5]].abs().sum() == 0


def test_supervised_losses_see_only_labelled_frames(monkeypatch):
    head = build_head()
    seen = {}
    original = head.loss_by_feat

    def spy(cls_scores, mask_preds, gt_instances, metas):
        seen['n'] = cls_scores[0].shape[0]
        seen['frames'] = [m['frame_idx'] for m in metas]
        return original(cls_scores, mask_preds, gt_instances, metas)

    monkeypatch.setattr(head, 'loss_by_feat', spy)
    seeded_loss(head, feats(6, num_frames=3), samples(2, 3, [True, False, True]))
    assert seen == dict(n=4, frames=[0, 2, 0, 2])


def test_padded_frames_are_left_out_of_the_inter_frame_loss():
    head = build_head()
    head.eval()
    inputs = feats(6, num_frames=3)
    padded = [[False, False, True], [False, True, True]]  # per clip
    data_samples = samples(2, 3, padded=padded)
    losses = seeded_loss(head, inputs, data_samples)
    with torch.no_grad():
        _, mask_list = head(inputs)
    valid = ~torch.tensor(padded).flatten()
    for i in range(3):
        torch.testing.assert_close(losses[f'd{i}.loss_ada'], head.loss_ada(mask_list[i], 3, valid))
    # only pair (0, 1) of clip 0 is real
    x = mask_list[0].flatten(1)
    dissim = 1 - torch.nn.functional.cosine_similarity(x[0], x[1], dim=0)
    torch.testing.assert_close(losses['d0.loss_ada'], 10.0 * dissim * torch.exp(-dissim), rtol=1e-4, atol=1e-6)


def test_inter_frame_loss_reads_the_clip_length_from_the_bundle():
    head = build_head()
    head.eval()
    inputs = feats(6, num_frames=3)
    with torch.no_grad():
        _, mask_list = head(inputs)
        as_two_clips = seeded_loss(head, inputs, samples(2, 3))
        as_three_clips = seeded_loss(head, inputs.replace(num_frames=2), samples(2, 3))
    torch.testing.assert_close(as_two_clips['d0.loss_ada'], head.loss_ada(mask_list[0], 3))
    torch.testing.assert_close(as_three_clips['d0.loss_ada'], head.loss_ada(mask_list[0], 2))
    assert not torch.allclose(as_two_clips['d0.loss_ada'], as_three_clips['d0.loss_ada'])


@pytest.mark.parametrize('query_fuse', ['add', 'all'])
def test_audio_queries(query_fuse):
    head = build_head(query_fuse=query_fuse, fusion=None)
    head.eval()
    assert hasattr(head, 'query_feat') == (query_fuse == 'add')
    inputs = feats(2, num_frames=1)
    with torch.no_grad():
        cls_list, mask_list = head(inputs)
        audio_query = head.audio_mlp(inputs.audio)[:, None]  # [N, 1, C]
        queries = audio_query + head.query_feat.weight[None] if query_fuse == 'add' else audio_query.expand(-1, 4, -1)
        expected_cls = head.cls_embed(head.transformer_decoder.post_norm(queries))
    torch.testing.assert_close(cls_list[0], expected_cls)
    # 'all': every query starts from the same audio query, so the first predictions coincide
    same = torch.allclose(cls_list[0][:, 0], cls_list[0][:, 1])
    assert same == (query_fuse == 'all')
    with torch.no_grad():
        other = head(inputs.replace(audio=inputs.audio + 1.0))[0][-1]
    assert not torch.allclose(other, cls_list[-1])


def test_queries_are_made_from_the_fused_audio():
    """BFM runs in fuse_pixel_features; the audio it fuses is what init_queries turns into queries."""
    head = build_head()
    head.eval()
    with torch.no_grad():  # a visible audio update
        head.fusion.gamma_a.fill_(1.0)
    inputs = feats(2, num_frames=2)
    with torch.no_grad():
        cls_list, _, fused = head.decode(inputs)
        mask_features, _ = head.pixel_decoder(list(inputs))
        expected = head.fusion(inputs.replace(visual=(mask_features, )))
        queries = head.audio_mlp(expected.audio)[:, None] + head.query_feat.weight[None]
    torch.testing.assert_close(fused.audio, expected.audio)
    assert not torch.allclose(fused.audio, inputs.audio) and len(fused) == 4  # the levels are not replaced
    torch.testing.assert_close(cls_list[0], head.cls_embed(head.transformer_decoder.post_norm(queries)))


def test_audio_mlp_is_the_official_shape_and_fusion_config():
    head = MODELS.build(get_config(BASE).model.decode_head)
    dims = [(m.in_features, m.out_features) for m in head.audio_mlp.layers]
    assert dims == [(128, 4096), (4096, 4096), (4096, 256)]
    assert head.fusion.mode == 'bilateral' and head.fusion.in_channels == [256]
    assert head.fusion.attentions[0].num_heads == 8 and head.fusion.attentions[0].dropout == 0.1
    assert head.num_queries == 100 and head.num_transformer_decoder_layers == 9
    assert head.ada_loss_layers == list(range(9)) and head.loss_ada.loss_weight == 10.0
    assert head.class_weight == [1.0, 1.0, 0.1]


def test_fusion_none_builds_no_fusion_parameters():
    head = build_head(fusion=dict(type='BilateralFusion', mode='none'))
    assert len(list(head.fusion.parameters())) == 0
    assert build_head(fusion=None).fusion is None


def test_predict_is_mask2former_semantic_inference():
    head = build_head()
    head.eval()
    inputs = feats(4, num_frames=2)
    metas = [s.metainfo for s in samples(2, 2)]
    with torch.no_grad():
        seg = head.predict(inputs, metas, None)
        cls_list, mask_list = head(inputs)
    assert seg.shape == (4, 2, SIZE, SIZE)
    masks = torch.nn.functional.interpolate(mask_list[-1], size=(SIZE, SIZE), mode='bilinear', align_corners=False)
    expected = torch.einsum('bqc,bqhw->bchw', cls_list[-1].softmax(-1)[..., :-1], masks.sigmoid())
    torch.testing.assert_close(seg, expected)
    assert seg.min() >= 0 and seg.sum(1).max() <= head.num_queries


def test_custom_ada_layers_and_gradient_checkpointing():
    head = build_head(ada_loss_layers=[0, 3])
    inputs = feats(4, num_frames=2)
    losses = seeded_loss(head, inputs, samples(2, 2))
    assert {k for k in losses if 'loss_ada' in k} == {'d0.loss_ada', 'loss_ada'}

    head.eval()  # compare with and without checkpointing on the same (dropout-free) computation
    ref = seeded_loss(head, inputs, samples(2, 2))
    head.with_cp = True
    head.train()
    head.fusion.eval()  # keep the BFM dropout off so eval/train passes match
    ckpt = seeded_loss(head, inputs, samples(2, 2))
    for k in ref:
        torch.testing.assert_close(ref[k], ckpt[k])
    sum(ckpt.values()).backward()
    assert head.pixel_decoder.mask_feature.weight.grad is not None


def test_bad_inputs_raise():
    head = build_head()
    inputs = feats(4, num_frames=2)
    with pytest.raises(ValueError, match=r'COMBOHead: the audio must be \[4, 16\]'):
        head(inputs.replace(audio=inputs.audio[:2]))
    with pytest.raises(ValueError, match='the audio must be'):
        head(inputs.replace(audio=None))
    with pytest.raises(ValueError, match='no frame of the batch is labelled'):
        head.loss(inputs, samples(2, 2, [False, False]), None)
    with pytest.raises(ValueError, match='binary masks must be 0/1'):
        head.loss(inputs, samples(2, 2, num_classes=3), None)
    with pytest.raises(ValueError, match='ada_loss_layers'):
        build_head(ada_loss_layers=[4])
    with pytest.raises(ValueError, match='query_fuse'):
        build_head(query_fuse='cat')


# --------------------------------------------------------------------------- official query layout (issue 9)
def test_official_query_audio_index_matches_a_hand_table():
    from avsseg.models.decode_heads.combo_head import official_query_audio_index

    # official: out = audio[bt, 1, C].repeat(1, Q, 1).reshape(Q, -1, C); query q of row n gets row (q*bt + n) // Q
    assert official_query_audio_index(2, 4).tolist() == [[0, 0, 1, 1], [0, 0, 1, 1]]
    assert official_query_audio_index(3, 4).tolist() == [[0, 0, 1, 2], [0, 1, 1, 2], [0, 1, 2, 2]]
    # at test (one 5-frame clip, 100 queries): queries 0-19 get frame 1's audio, 20-39 frame 2's, ...
    index = official_query_audio_index(5, 100)
    assert all(index[n].tolist() == [q // 20 for q in range(100)] for n in range(5))


def _reshape_layout(audio_query, num_queries):
    """The official decoder's arithmetic, verbatim: ``[bt, C] -> [bt, Q, C]`` audio added to the queries."""
    bt, c = audio_query.shape
    return audio_query[:, None].repeat(1, num_queries, 1).reshape(num_queries, -1, c).transpose(0, 1)


@pytest.mark.parametrize('training', [True, False])
def test_official_query_layout_reproduces_the_released_decoder(training):
    paper, official = build_head(), build_head(query_layout='official')
    official.load_state_dict(paper.state_dict())
    paper.train(training), official.train(training)
    inputs = feats(6, num_frames=3)  # 2 clips of 3 frames
    audio_query = paper.audio_mlp(inputs.audio)
    query_feat, query_pos = official.init_queries(inputs, 6)
    if training:  # the whole batch is the official bt
        expected_audio = _reshape_layout(audio_query, 4)
    else:  # the official test loader holds one clip: the layout repeats per clip
        expected_audio = torch.cat([_reshape_layout(audio_query[b * 3:(b + 1) * 3], 4) for b in range(2)])
    torch.testing.assert_close(query_feat, official.query_feat.weight[None] + expected_audio)
    paper_feat, paper_pos = paper.init_queries(inputs, 6)
    torch.testing.assert_close(paper_feat, paper.query_feat.weight[None] + audio_query[:, None])
    torch.testing.assert_close(query_pos, paper_pos)
    assert not torch.allclose(query_feat, paper_feat)


def test_official_query_layout_with_audio_only_queries():
    head = build_head(query_layout='official', query_fuse='all').eval()
    inputs = feats(3, num_frames=3)
    query_feat, _ = head.init_queries(inputs, 3)
    torch.testing.assert_close(query_feat, _reshape_layout(head.audio_mlp(inputs.audio), 4))
    with pytest.raises(ValueError, match='query_layout'):
        build_head(query_layout='scrambled')
