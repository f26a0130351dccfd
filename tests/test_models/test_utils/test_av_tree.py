import copy
import json

import pytest
import torch

from avsseg.models.utils.av_tree import AudioVisualTree, AVTreeError, load_audioset_labels

# A hand-built tree over 8 AudioSet tags (real mids and names).
TAGS = [('/m/03k3r', 'Horse'), ('/m/07rv9rh', 'Clip-clop'), ('/m/07q5rw0', 'Neigh, whinny'),
        ('/m/01bjv', 'Bus'), ('/m/012n7d', 'Ambulance (siren)'), ('/m/05zppz', 'Male speech, man speaking'),
        ('/m/028v0c', 'Silence'), ('/m/0chx_', 'White noise')]


def tree_dict():
    return dict(
        format='avsseg-av-tree/1',
        audio_labels=dict(name='toy', mids=[m for m, _ in TAGS], names=[n for _, n in TAGS]),
        visual_classes=['horse', 'bus', 'emergency-car', 'man', 'woman'],
        layer1=[dict(name='hoofed', children=['horse']),
                dict(name='road_vehicle', children=['bus', 'emergency-car']),
                dict(name='human_voice', children=['man', 'woman']),
                dict(name='ambient', children=['silence', 'noise'])],
        layer2=[dict(name='horse', visual=True, tags=['/m/03k3r', '/m/07rv9rh', '/m/07q5rw0']),
                dict(name='bus', visual=True, tags=['/m/01bjv']),
                dict(name='emergency-car', visual=True, tags=['/m/012n7d']),
                dict(name='man', visual=True, tags=['/m/05zppz']),
                dict(name='woman', visual=True, tags=[]),
                dict(name='silence', visual=False, tags=['/m/028v0c']),
                dict(name='noise', visual=False, tags=['/m/0chx_'])])


def write(tmp_path, data, name='tree.json'):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


@pytest.fixture
def tree(tmp_path):
    return AudioVisualTree(write(tmp_path, tree_dict()))


def test_load_counts_and_queries(tree):
    assert tree.counts() == dict(layer1=4, layer2=7, visual=5, non_visual=2, layer3=8)
    report = tree.counts_report()
    assert 'paper 24' in report and 'paper 156' in report and 'paper 527' in report
    assert tree.group_of('bus') == 'road_vehicle'
    assert tree.siblings('emergency-car') == ['bus']
    assert tree.siblings('man') == ['woman']
    assert tree.siblings('horse') == []
    # non-visual nodes are never retrieved as siblings
    assert tree.siblings('silence') == []
    with pytest.raises(KeyError, match='tiger'):
        tree.group_of('tiger')
    assert AudioVisualTree(tree.to_dict()).to_dict() == tree.to_dict()


def _err(tmp_path, data, match):
    path = write(tmp_path, data)
    with pytest.raises(AVTreeError, match=match) as info:
        AudioVisualTree(path)
    assert path in str(info.value)


def test_mid_under_two_layer2_nodes(tmp_path):
    data = tree_dict()
    data['layer2'][1]['tags'].append('/m/012n7d')
    _err(tmp_path, data, r"tag /m/012n7d is under two layer2 nodes: 'bus' and 'emergency-car'")


def test_mid_under_no_node_and_unknown_mid(tmp_path):
    data = tree_dict()
    data['layer2'][6]['tags'] = []
    _err(tmp_path, data, r'under no layer2 node: \[\'/m/0chx_\'\]')
    data = tree_dict()
    data['layer2'][3]['tags'].append('/m/999')
    _err(tmp_path, data, r"layer2 node 'man': tag /m/999 is not in audio_labels.mids")


def test_visual_class_missing_from_layer2(tmp_path):
    data = tree_dict()
    data['visual_classes'].append('tiger')
    _err(tmp_path, data, r"visual classes \['tiger'\] are missing from layer2")
    data = tree_dict()
    data['layer2'][6]['visual'] = True
    _err(tmp_path, data, r"layer2 nodes \['noise'\] have \"visual\": true but are not in visual_classes")
    data = tree_dict()
    data['layer2'][4]['visual'] = False
    _err(tmp_path, data, r"visual classes \['woman'\] are layer2 nodes with \"visual\": false")


def test_layer2_node_with_no_or_two_parents(tmp_path):
    data = tree_dict()
    data['layer1'][2]['children'] = ['man']
    _err(tmp_path, data, r"layer2 nodes \['woman'\] have no layer1 parent")
    data = tree_dict()
    data['layer1'][0]['children'].append('bus')
    _err(tmp_path, data, r"layer2 node 'bus' has two layer1 parents: 'hoofed' and 'road_vehicle'")
    data = tree_dict()
    data['layer1'][0]['children'].append('tiger')
    _err(tmp_path, data, r"layer1 group 'hoofed': child 'tiger' is not a layer2 node")


def test_format_and_duplicates(tmp_path):
    data = tree_dict()
    data['format'] = 'other/1'
    _err(tmp_path, data, 'format must be')
    data = tree_dict()
    data['layer2'].append(copy.deepcopy(data['layer2'][4]))
    _err(tmp_path, data, "layer2 node 'woman' is listed twice")
    path = tmp_path / 'bad.json'
    path.write_text('{"format": ')
    with pytest.raises(AVTreeError, match='not valid JSON'):
        AudioVisualTree(str(path))


def test_names_checked_against_label_csv(tmp_path):
    rows = ['index,mid,display_name'] + [f'{i},{m},"{n}"' for i, (m, n) in enumerate(TAGS)]
    csv_path = tmp_path / 'class_labels_indices.csv'
    csv_path.write_text('\n'.join(rows) + '\n')
    assert list(load_audioset_labels(str(csv_path)).values())[2] == 'Neigh, whinny'
    AudioVisualTree(write(tmp_path, tree_dict()), label_csv=str(csv_path))
    # a mid absent from the csv
    csv_path.write_text('\n'.join(rows[:-1]) + '\n')
    with pytest.raises(AVTreeError, match=r"mids \['/m/0chx_'\] are absent from .*class_labels_indices.csv"):
        AudioVisualTree(write(tmp_path, tree_dict()), label_csv=str(csv_path))
    # a display name that is not the csv's
    csv_path.write_text('\n'.join(rows) + '\n')
    data = tree_dict()
    data['audio_labels']['names'][3] = 'Buses'
    with pytest.raises(AVTreeError, match=r"tag /m/01bjv is named 'Buses' but .* names it 'Bus'"):
        AudioVisualTree(write(tmp_path, data), label_csv=str(csv_path))


def test_tags_to_categories_threshold_and_horse_aggregation(tree):
    mids = [m for m, _ in TAGS]
    p = torch.tensor([0.3, 0.4, 0.09, 0.05, 0.0, 0.5, 0.9, 0.8])
    scores = tree.tags_to_categories(p, mids, tag_thr=0.1)
    # horse <- Horse 0.3 + Clip-clop 0.4 (Neigh 0.09 is below the threshold); non-visual tags never count
    assert scores.tolist() == pytest.approx([0.7, 0.0, 0.0, 0.5, 0.0])
    assert list(tree.categories_in(scores)) == ['horse', 'man']
    assert tree.tags_to_categories(p, mids, tag_thr=0.1, agg='max').tolist() == pytest.approx(
        [0.4, 0.0, 0.0, 0.5, 0.0])
    # top-2 keeps Silence and White noise only: both non-visual, so T_c is empty
    assert tree.tags_to_categories(p, mids, tag_thr=0.1, topk=2).sum() == 0
    assert tree.tags_to_categories(p, mids, tag_thr=0.1, topk=4).tolist() == pytest.approx(
        [0.4, 0.0, 0.0, 0.5, 0.0])


def test_silence_or_noise_only_gives_empty_tc(tree):
    silence = torch.tensor([0.01, 0.02, 0.0, 0.03, 0.01, 0.05, 0.97, 0.2])
    noise = torch.tensor([0.02, 0.0, 0.0, 0.09, 0.0, 0.01, 0.1, 0.95])
    scores = tree.tags_to_categories(torch.stack([silence, noise]))
    assert scores.shape == (2, 5) and scores.sum() == 0
    assert tree.categories_in(scores[0]) == {}


def test_tags_to_categories_column_order_and_errors(tree):
    mids = [m for m, _ in TAGS]
    # the tagger's column order differs from the tree's: columns are matched by mid
    order = [3, 0, 1, 2, 4, 5, 6, 7]
    p = torch.tensor([0.3, 0.4, 0.5, 0.6, 0.0, 0.0, 0.0, 0.0])
    shuffled = tree.tags_to_categories(p[order], [mids[i] for i in order])
    assert torch.equal(shuffled, tree.tags_to_categories(p, mids))
    # a tagger with a subset of the tree's tags
    assert tree.tags_to_categories(p[:2], mids[:2]).tolist() == pytest.approx([0.7, 0, 0, 0, 0])
    with pytest.raises(ValueError, match=r"mids \['/m/zzz'\] are not in the tree"):
        tree.tags_to_categories(p[:2], [mids[0], '/m/zzz'])
    with pytest.raises(ValueError, match='8 tags but 2 mids'):
        tree.tags_to_categories(p, mids[:2])
