import importlib.util
import json
import os.path as osp

import pytest

from avsseg.datasets.synthetic import CATEGORIES
from avsseg.models.utils.av_tree import AudioVisualTree

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOOL = osp.join(REPO, 'tools', 'dataset_converters', 'build_av_tree.py')
TREES = osp.join(REPO, 'configs', 'bavs', 'trees')


def _tool():
    spec = importlib.util.spec_from_file_location('build_av_tree', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _tool()

# A hand-made ontology in AudioSet's format: two roots, an abstract "Domestic animals" node, a DAG edge.
ONTOLOGY = [
    dict(id='/r/animal', name='Animal', child_ids=['/a/dom', '/a/wild']),
    dict(id='/a/dom', name='Domestic animals', child_ids=['/a/dog', '/a/horse'], restrictions=['abstract']),
    dict(id='/a/dog', name='Dog', child_ids=['/a/bark', '/a/howl']),
    dict(id='/a/bark', name='Bark', child_ids=[]),
    dict(id='/a/howl', name='Howl', child_ids=[]),
    dict(id='/a/horse', name='Horse', child_ids=['/a/clop']),
    dict(id='/a/clop', name='Clip-clop', child_ids=[]),
    dict(id='/a/wild', name='Wild animals', child_ids=['/a/roar', '/a/howl']),
    dict(id='/a/roar', name='Roar', child_ids=[]),
    dict(id='/r/music', name='Music', child_ids=['/m/inst']),
    dict(id='/m/inst', name='Musical instrument', child_ids=['/m/guitar', '/m/drum']),
    dict(id='/m/guitar', name='Guitar', child_ids=[]),
    dict(id='/m/drum', name='Drum', child_ids=[]),
]
# the tags (layer 3): every node above but the abstract one and the roots
TAGS = [('/a/dog', 'Dog'), ('/a/bark', 'Bark'), ('/a/howl', 'Howl'), ('/a/horse', 'Horse'),
        ('/a/clop', 'Clip-clop'), ('/a/wild', 'Wild animals'), ('/a/roar', 'Roar'), ('/m/inst', 'Musical instrument'),
        ('/m/guitar', 'Guitar'), ('/m/drum', 'Drum')]


def cmap(**over):
    data = dict(format='avsseg-av-curated-map/1', visual_classes=['dog', 'wolf', 'horse', 'guitar'],
                visual=dict(dog=[dict(tag='Dog', subtree=True)], wolf=['Howl'],
                            horse=[dict(tag='Domestic animals', subtree=True)], guitar=['/m/guitar']),
                groups=dict(canine=['dog', 'wolf'], hoofed=['horse'], strings=['guitar']),
                non_visual=dict(depth=1))
    data.update(over)
    return data


@pytest.fixture
def files(tmp_path):
    onto = tmp_path / 'ontology.json'
    onto.write_text(json.dumps(ONTOLOGY))
    csv_path = tmp_path / 'class_labels_indices.csv'
    csv_path.write_text('index,mid,display_name\n' + ''.join(f'{i},{m},"{n}"\n' for i, (m, n) in enumerate(TAGS)))

    def write_map(data):
        path = tmp_path / 'map.json'
        path.write_text(json.dumps(data))
        return str(path)

    return str(csv_path), str(onto), write_map


def test_build_with_ontology(files, tmp_path):
    csv_path, onto, write_map = files
    out = str(tmp_path / 'tree.json')
    assert tool.main(['--labels', csv_path, '--ontology', onto, '--map', write_map(cmap()), '-o', out]) == 0
    tree = AudioVisualTree(out, label_csv=csv_path)
    l2 = {n: v['tags'] for n, v in tree.layer2.items()}
    # explicit "Howl" beats the Dog subtree; the nearer Dog subtree beats the Domestic-animals subtree
    assert l2['dog'] == ['/a/dog', '/a/bark']
    assert l2['wolf'] == ['/a/howl']
    assert l2['horse'] == ['/a/horse', '/a/clop']
    assert l2['guitar'] == ['/m/guitar']
    # unassigned tags: non-visual nodes named after their depth-1 ancestor, grouped by ontology root
    assert l2['Wild animals'] == ['/a/wild', '/a/roar'] and not tree.layer2['Wild animals']['visual']
    assert l2['Musical instrument'] == ['/m/inst', '/m/drum']
    assert tree.layer1['Animal'] == ['Wild animals'] and tree.layer1['Music'] == ['Musical instrument']
    assert tree.layer1['canine'] == ['dog', 'wolf']
    assert tree.counts() == dict(layer1=5, layer2=6, visual=4, non_visual=2, layer3=10)


def test_build_without_ontology(files):
    csv_path, _, write_map = files
    data = cmap(visual=dict(dog=['Dog', 'Bark'], wolf=['Howl'], horse=['Horse'], guitar=['Guitar']),
                non_visual=dict(default_node='ambient', default_group='ambient'))
    tree, notes = tool.build_tree(csv_path, write_map(data))
    layer2 = {n['name']: n for n in tree['layer2']}
    assert layer2['ambient']['tags'] == ['/a/clop', '/a/wild', '/a/roar', '/m/inst', '/m/drum']
    assert any('no ontology' in n for n in notes)
    data['visual']['dog'] = [dict(tag='Dog', subtree=True)]
    with pytest.raises(tool.BuildError, match=r"visual\['dog'\] entry 'Dog' is a subtree; pass --ontology"):
        tool.build_tree(csv_path, write_map(data))


def test_build_errors_name_the_map_and_entry(files):
    csv_path, onto, write_map = files
    path = write_map(cmap(visual=dict(dog=['Dogs'], wolf=[], horse=[], guitar=[])))
    with pytest.raises(tool.BuildError, match=r"map.json: visual\['dog'\] entry 'Dogs' is absent from .*csv"):
        tool.build_tree(csv_path, path, onto)
    path = write_map(cmap(visual=dict(dog=['Howl'], wolf=['Howl'], horse=[], guitar=[])))
    with pytest.raises(tool.BuildError, match=r"tag /a/howl \('Howl'\) is listed under 'dog' and 'wolf'"):
        tool.build_tree(csv_path, path, onto)
    # two subtrees at the same distance from one tag
    path = write_map(cmap(visual=dict(dog=[dict(tag='Dog', subtree=True)], wolf=[dict(tag='Dog', subtree=True)],
                                      horse=[], guitar=[])))
    with pytest.raises(tool.BuildError, match="is claimed by 'dog' and 'wolf'"):
        tool.build_tree(csv_path, path, onto)
    path = write_map(cmap(groups=dict(canine=['dog', 'wolf'], hoofed=['horse'])))
    with pytest.raises(tool.BuildError, match=r"visual classes \['guitar'\] are in no group"):
        tool.build_tree(csv_path, path, onto)
    path = write_map(cmap(groups=dict(canine=['dog', 'wolf'], hoofed=['horse', 'dog'], strings=['guitar'])))
    with pytest.raises(tool.BuildError, match="visual class 'dog' is in two groups: 'canine' and 'hoofed'"):
        tool.build_tree(csv_path, path, onto)
    path = write_map(cmap(visual=dict(cat=['Dog'])))
    with pytest.raises(tool.BuildError, match=r"entries for \['cat'\], which are not in visual_classes"):
        tool.build_tree(csv_path, path, onto)


def test_cli_reports_errors(files, tmp_path, capsys):
    csv_path, onto, write_map = files
    out = str(tmp_path / 'tree.json')
    assert tool.main(['--labels', csv_path, '--map', write_map(cmap(visual=dict(dog=['Dogs']))), '-o', out]) == 1
    assert "entry 'Dogs' is absent" in capsys.readouterr().err
    assert not osp.exists(out) and not osp.exists(out + '.tmp')


def test_shipped_synthetic_tree_is_the_build_of_its_map(tmp_path):
    out = str(tmp_path / 'synthetic_av_tree.json')
    assert tool.main(['--labels', osp.join(TREES, 'synthetic_tags.csv'), '--map',
                      osp.join(TREES, 'synthetic_curated_map.json'), '--name', 'synthetic-9', '-o', out]) == 0
    with open(out) as f, open(osp.join(TREES, 'synthetic_av_tree.json')) as g:
        assert json.load(f) == json.load(g)
    tree = AudioVisualTree(osp.join(TREES, 'synthetic_av_tree.json'))
    assert tree.visual_classes == [c.name for c in CATEGORIES]
    assert tree.counts() == dict(layer1=5, layer2=9, visual=8, non_visual=1, layer3=9)
    assert tree.siblings('disc') == ['diamond'] and tree.group_of('ambient') == 'ambient'


def test_shipped_avss_curated_map_is_consistent(tmp_path):
    with open(osp.join(TREES, 'avss_curated_map.json')) as f:
        data = json.load(f)
    assert len(data['visual_classes']) == 70 and len(data['groups']) == 24
    # build it against a csv holding exactly the names it uses (the real csv is not shipped; see docs/bavs.md)
    names = [t for tags in data['visual'].values() for t in tags] + ['Speech', 'Music']
    assert len(set(names)) == len(names), 'a tag is listed twice'
    csv_path = tmp_path / 'labels.csv'
    csv_path.write_text('index,mid,display_name\n' + ''.join(
        f'{i},/m/x{i},"{n}"\n' for i, n in enumerate(names)))
    tree, notes = tool.build_tree(str(csv_path), osp.join(TREES, 'avss_curated_map.json'))
    checked = AudioVisualTree(tree)
    assert checked.group_of('emergency-car') == 'road_vehicle' and 'bus' in checked.siblings('emergency-car')
    assert checked.layer2['other']['tags'] == ['/m/x%d' % (len(names) - 2), '/m/x%d' % (len(names) - 1)]
