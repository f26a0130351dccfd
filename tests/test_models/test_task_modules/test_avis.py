import pytest
import torch

from avsseg.models.task_modules import AudioVisualSemanticIntegration
from avsseg.models.utils.av_tree import AudioVisualTree
from avsseg.registry import TASK_UTILS

MIDS = {'male_speech': '/m/05zppz', 'female_speech': '/m/02zsn', 'bus': '/m/01bjv', 'ambulance': '/m/012n7d',
        'car': '/m/0k4j', 'horse': '/m/03k3r', 'clip_clop': '/m/07rv9rh', 'silence': '/m/028v0c',
        'white_noise': '/m/0chx_'}
TAG_ORDER = list(MIDS)
CLASSES = ['man', 'woman', 'bus', 'emergency-car', 'car', 'horse']
MAN, WOMAN, BUS, ECAR, CAR, HORSE = range(6)


def hand_tree():
    return AudioVisualTree(dict(
        format='avsseg-av-tree/1',
        audio_labels=dict(name='hand', mids=[MIDS[t] for t in TAG_ORDER]),
        visual_classes=CLASSES,
        layer1=[dict(name='human_voice', children=['man', 'woman']),
                dict(name='road_vehicle', children=['bus', 'emergency-car', 'car']),
                dict(name='hoofed', children=['horse']),
                dict(name='ambient', children=['silence', 'noise'])],
        layer2=[dict(name='man', visual=True, tags=[MIDS['male_speech']]),
                dict(name='woman', visual=True, tags=[MIDS['female_speech']]),
                dict(name='bus', visual=True, tags=[MIDS['bus']]),
                dict(name='emergency-car', visual=True, tags=[MIDS['ambulance']]),
                dict(name='car', visual=True, tags=[MIDS['car']]),
                dict(name='horse', visual=True, tags=[MIDS['horse'], MIDS['clip_clop']]),
                dict(name='silence', visual=False, tags=[MIDS['silence']]),
                dict(name='noise', visual=False, tags=[MIDS['white_noise']])]), source='hand-tree')


def tags(**conf):
    p = torch.zeros(len(TAG_ORDER))
    for name, value in conf.items():
        p[TAG_ORDER.index(name)] = value
    return p


def avis(**kwargs):
    return AudioVisualSemanticIntegration(hand_tree(), **kwargs)


def test_registered_and_built_from_file(tmp_path):
    import json
    path = tmp_path / 'tree.json'
    path.write_text(json.dumps(hand_tree().to_dict()))
    integ = TASK_UTILS.build(dict(type='AudioVisualSemanticIntegration', tree=str(path), iou_thr=0.5))
    assert integ.classes == CLASSES and integ.num_classes == 6
    with pytest.raises(ValueError, match=r"classes \['tiger'\] are not visual classes"):
        avis(classes=['man', 'tiger'])


def test_sound_categories_threshold_and_aggregation():
    integ = avis(tag_thr=0.1)
    tc = integ.sound_categories(tags(horse=0.3, clip_clop=0.35, bus=0.05, silence=0.9))[0]
    # horse tags aggregate into horse; the bus tag is below the threshold; silence is not a visual node
    assert list(tc) == ['horse'] and tc['horse'] == pytest.approx(0.65)
    # all-silence and white-noise-only tag vectors: T_c is empty, so nothing sounds
    for probs in (tags(silence=0.95), tags(white_noise=0.9, car=0.02)):
        tc = integ.sound_categories(probs)[0]
        assert tc == {}
        assert integ.integrate([MAN, CAR], [0.9, 0.8], tc) == []


def test_ambulance_recovered_through_road_vehicle():
    # The paper's example: ambulance audio scores "bus" high and "ambulance" low; the frame holds an
    # emergency car and a man. The emergency car sounds through road_vehicle; the man stays silent.
    integ = avis(tag_thr=0.1)
    tc = integ.sound_categories(tags(bus=0.7, ambulance=0.04))[0]
    assert list(tc) == ['bus']
    assert integ.integrate([ECAR, MAN], [0.9, 0.8], tc) == [0]
    # without the T_p retrieval nothing sounds
    assert avis(fallback=False).integrate([ECAR, MAN], [0.9, 0.8], tc) == []


def test_one_tag_category_never_claims_two_masks_with_consumption():
    tc = {'bus': 0.7}
    # emergency car and car both retrieve "bus" through road_vehicle: only the higher-scored one with
    # consume_on_fallback, both without
    assert avis(consume_on_fallback=True).integrate([CAR, ECAR], [0.6, 0.9], tc) == [1]
    assert avis(consume_on_fallback=False).integrate([CAR, ECAR], [0.6, 0.9], tc) == [1, 0]


def test_two_men_and_one_male_speech_tag():
    integ = avis()
    tc = integ.sound_categories(tags(male_speech=0.8))[0]
    assert integ.integrate([MAN, MAN], [0.7, 0.9], tc) == [1]
    # a female-speech tag as well and no woman in view: the second man is retrieved through human_voice
    tc = integ.sound_categories(tags(male_speech=0.8, female_speech=0.3))[0]
    assert integ.integrate([MAN, MAN], [0.7, 0.9], tc) == [1, 0]
    # a woman in view keeps her own category (direct pass first), so the second man stays silent
    assert integ.integrate([MAN, MAN, WOMAN], [0.7, 0.9, 0.2], tc) == [1, 2]


def test_fallback_after_direct_switch():
    # T_c = {bus}; the emergency car scores above the bus. Direct first: the bus keeps its own category and the
    # emergency car finds nothing left. Mask by mask: the emergency car takes "bus" by fallback first.
    tc = {'bus': 0.7}
    assert avis(fallback_after_direct=True).integrate([ECAR, BUS], [0.9, 0.8], tc) == [1]
    assert avis(fallback_after_direct=False).integrate([ECAR, BUS], [0.9, 0.8], tc) == [0]
    # without consumption on fallback, mask by mask lets both sound; direct first still uses "bus" up directly
    assert avis(fallback_after_direct=False, consume_on_fallback=False).integrate([ECAR, BUS], [0.9, 0.8], tc) == [
        0, 1]
    assert avis(fallback_after_direct=True, consume_on_fallback=False).integrate([ECAR, BUS], [0.9, 0.8], tc) == [1]


def test_switches_leave_plain_cases_alone():
    tc = {'man': 0.8, 'horse': 0.5}
    for kwargs in (dict(), dict(fallback=False), dict(fallback_after_direct=False), dict(consume_on_fallback=False)):
        assert avis(**kwargs).integrate([HORSE, MAN, CAR], [0.5, 0.9, 0.7], tc) == [1, 0]


def test_integrate_rejects_no_object_labels():
    with pytest.raises(ValueError, match='no-object predictions must be filtered out'):
        avis().integrate([MAN, 6], [0.9, 0.8], {'man': 1.0})


def test_call_filters_then_integrates():
    # queries: 0 man (0.9), 1 man overlapping query 0 (0.8), 2 man elsewhere (0.7), 3 emergency car (0.6),
    # 4 no-object; tags: male speech and bus. P_c = {0, 3, 2} (query 1 overlaps 0 with IoU 1 >= 0.5)
    K = len(CLASSES)
    probs = torch.full((5, K + 1), 0.01)
    for q, (label, p) in enumerate([(MAN, 0.9), (MAN, 0.8), (MAN, 0.7), (ECAR, 0.6), (K, 0.9)]):
        probs[q, label] = p
    masks = torch.zeros(5, 8, 8, dtype=torch.bool)
    masks[0, :4, :4] = masks[1, :4, :4] = True
    masks[2, 4:, 4:] = True
    masks[3, :4, 4:] = True
    masks[4] = True
    out = avis()(probs, masks, tags(male_speech=0.6, bus=0.5))
    assert out['potential'].tolist() == [0, 3, 2]
    # the first man takes "man", the emergency car "bus" through road_vehicle, the second man finds nothing
    assert out['sounding'].tolist() == [0, 3] and out['labels'].tolist() == [MAN, ECAR]
    assert list(out['sound_categories']) == ['man', 'bus']
    silent = avis()(probs, masks, tags(silence=0.99))
    assert silent['sounding'].numel() == 0 and silent['potential'].tolist() == [0, 3, 2]
    with pytest.raises(ValueError, match=r'cls_probs must be \[Q, 7\]'):
        avis()(probs[:, :5], masks, tags())


def test_integrate_instances_of_the_filtered_set():
    from mmengine.structures import InstanceData
    K = len(CLASSES)
    probs = torch.full((4, K + 1), 0.01)
    for q, (label, p) in enumerate([(MAN, 0.9), (ECAR, 0.6), (MAN, 0.7), (HORSE, 0.5)]):
        probs[q, label] = p
    masks = torch.zeros(4, 8, 8, dtype=torch.bool)
    masks[0, :4, :4] = masks[1, :4, 4:] = masks[2, 4:, 4:] = masks[3, 4:, :4] = True
    integ = avis()
    tag_probs = tags(male_speech=0.6, bus=0.5)
    full = integ(probs, masks, tag_probs)
    # the filter is idempotent: the head's filtered set goes through __call__ unchanged
    assert full['potential'].tolist() == [0, 1, 3, 2]
    kept = full['potential']
    again = integ(probs[kept], masks[kept], tag_probs)
    assert kept[again['potential']].tolist() == kept.tolist()
    assert kept[again['sounding']].tolist() == full['sounding'].tolist()
    instances = InstanceData(labels=probs.argmax(1)[full['potential']], scores=probs.max(1).values[full['potential']])
    positions = integ.integrate_instances(instances, tag_probs)
    assert full['potential'][positions].tolist() == full['sounding'].tolist() == [0, 1]
