import numpy as np
import pytest

from avsseg.datasets.silent_labels import (CategoryMatcher, category_words, extract_nouns, frame_silent_labels,
                                           lemmatize, load_glove)

FIG3_CAPTION = "There is a pink parrot standing on a woman's hand"


def toy_vectors():
    """A toy embedding table: parrot ~ bird, woman ~ woman, hand nearest to woman; car/emergency for averaging."""
    return {
        'airplane': np.array([1.0, 0.0, 0.0, 0.0], np.float32),
        'bird': np.array([0.0, 1.0, 0.0, 0.0], np.float32),
        'parrot': np.array([0.1, 0.95, 0.05, 0.0], np.float32),
        'woman': np.array([0.0, 0.0, 1.0, 0.0], np.float32),
        'hand': np.array([0.2, 0.1, 0.6, 0.3], np.float32),
        'emergency': np.array([0.0, 0.0, 0.0, 1.0], np.float32),
        'car': np.array([1.0, 0.0, 0.0, 0.0], np.float32),
        'ambulance': np.array([0.5, 0.0, 0.0, 0.6], np.float32),
        'jet': np.array([0.9, 0.1, 0.0, 0.1], np.float32),
    }


def test_fig3_example():
    # BAVS Fig. 3: nouns {parrot, woman, hand}; parrot -> bird, woman -> woman, hand -> woman here; GT {woman}
    assert extract_nouns(FIG3_CAPTION) == ['parrot', 'woman', 'hand']
    matcher = CategoryMatcher(['airplane', 'bird', 'woman'], toy_vectors())
    out = frame_silent_labels(FIG3_CAPTION, ['woman'], matcher)
    assert out['nouns'] == ['parrot', 'woman', 'hand']
    assert out['mapped'] == ['bird', 'woman', 'woman']
    assert out['silent'] == ['bird']
    # every noun is mapped (no threshold by default), even a poor match
    assert out['similarity'][2] < 0.9
    # with a threshold, poor matches are dropped
    strict = frame_silent_labels(FIG3_CAPTION, [], CategoryMatcher(['airplane', 'bird', 'woman'], toy_vectors(),
                                                                   sim_thr=0.95))
    assert strict['mapped'] == ['bird', 'woman', None] and strict['silent'] == ['bird', 'woman']


def test_nouns_and_lemmatisation():
    assert extract_nouns('Two birds and three dogs sitting next to the buses') == ['bird', 'dog', 'bus']
    assert extract_nouns('A man playing a guitar while women are singing loudly') == ['man', 'guitar', 'woman']
    assert extract_nouns('The wolves near the puppies, boxes and benches') == ['wolf', 'puppy', 'box', 'bench']
    assert extract_nouns('A building with a ceiling painted blue') == ['building', 'ceiling']
    for plural, singular in [('children', 'child'), ('geese', 'goose'), ('knives', 'knife'), ('glasses', 'glass'),
                             ('pianos', 'piano'), ('horses', 'horse'), ('bus', 'bus'), ('harmonicas', 'harmonica'),
                             ('sheep', 'sheep'), ('cats', 'cat')]:
        assert lemmatize(plural) == singular
    with pytest.raises(ValueError, match="parser must be 'rules' or 'nltk'"):
        extract_nouns('a dog', parser='spacy')


def test_multi_word_categories_are_averaged():
    assert category_words('emergency-car') == ['emergency', 'car']
    vectors = toy_vectors()
    matcher = CategoryMatcher(['airplane', 'emergency-car', 'bird'], vectors)
    # "ambulance" is nearest to mean(emergency, car) = [0.5, 0, 0, 0.5], not to airplane
    assert matcher.match('ambulance')[0] == 'emergency-car'
    assert matcher.match('jet')[0] == 'airplane'
    # a noun spelled like a category maps to it directly; hyphen and space spellings agree
    assert matcher.match('emergency car') == ('emergency-car', 1.0)


def test_out_of_vocabulary_and_no_vectors():
    matcher = CategoryMatcher(['airplane', 'bird', 'woman'], toy_vectors())
    assert matcher.match('zebra') == (None, 0.0)
    assert 'zebra' in matcher.oov
    out = frame_silent_labels('a zebra and a parrot', [], matcher)
    assert out['mapped'] == [None, 'bird'] and out['silent'] == ['bird']
    # without vectors only category names can be mapped (the oracle captioner)
    oracle = CategoryMatcher(['disc', 'star'])
    assert frame_silent_labels('x', ['disc'], oracle, nouns=['disc', 'star'])['silent'] == ['star']
    with pytest.raises(ValueError, match="noun 'parrot' is not a category name and no word vectors"):
        oracle.match('parrot')
    with pytest.raises(ValueError, match=r"ground-truth categories \['tiger'\] are not in the category dictionary"):
        frame_silent_labels('a bird', ['tiger'], matcher)


def test_load_glove(tmp_path):
    path = tmp_path / 'glove.txt'
    path.write_text('bird 0.1 0.2 0.3\nparrot 0.1 0.25 0.3\nthe 0 0 1\n')
    vecs = load_glove(str(path), {'bird', 'parrot', 'zebra'})
    assert sorted(vecs) == ['bird', 'parrot'] and vecs['bird'].dtype == np.float32
    assert len(load_glove(str(path))) == 3
    path.write_text('bird 0.1 0.2 0.3\nparrot 0.1 0.25\n')
    with pytest.raises(ValueError, match=r'glove.txt:2: 2 values, the file\'s vectors have 3'):
        load_glove(str(path))
    path.write_text('bird 0.1 x 0.3\n')
    with pytest.raises(ValueError, match="glove.txt:1: the vector of 'bird' is not numeric"):
        load_glove(str(path))
