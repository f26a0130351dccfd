"""BAVS's silent-object labels (arXiv 2308.10175, §III-A1, Fig. 3): caption -> nouns -> nearest category -> minus GT.

For each training frame a captioner describes the image; the nouns of the caption are mapped to their most similar
category of the dataset's vocabulary (Eq. 1, cosine similarity of GloVe vectors, no threshold in the paper); the
frame's ground-truth (sounding) categories are removed; what remains are the frame's silent categories, used by
the L_cls exemption of the PSOS head (``PSOSHead(silent_exclusion=True)``).

The paper parses nouns with NLTK. NLTK (and its tagger / WordNet data) is not a dependency of avsseg, so the noun
parser here is rule-based (:func:`extract_nouns`): closed-class words, a list of common adjectives, verb forms
(-ing / -ed, auxiliaries) and adverbs (-ly) are dropped, and plurals are lemmatised by rule (:func:`lemmatize`).
With NLTK installed and its ``punkt`` / ``averaged_perceptron_tagger`` / ``wordnet`` data present locally,
``parser='nltk'`` uses ``word_tokenize`` + ``pos_tag`` (NN, NNS) + WordNet's lemmatiser as the spec sheet
recommends; nothing is downloaded.
"""
import re
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import numpy as np

# Closed-class words and frequent non-nouns of captions (determiners, pronouns, prepositions, conjunctions,
# auxiliaries, quantifiers, common adverbs / verbs of captioners).
STOPWORDS: Set[str] = set("""
a an the this that these those there here it its it's they them their theirs he him his she her hers we us our
you your i me my mine one ones some any each every all both either neither no not nor none another other such
what which who whom whose where when why how than then so as at by for from in into onto on off of out over under
above below up down with without within near next to toward towards through across along around behind beside
besides between beyond against among upon about after before during while until till via per like unlike and or
but if because though although whether is are was were be been being am do does did doing done has have had having
can could may might must shall should will would very too also just only even still yet quite rather really
almost nearly much many more most less least few several lot lots top front back side middle
sits sit sat sitting stands stand stood standing holds hold held holding plays play played playing looks look
looking shows show showing appears appear seems seem seen see sees watching watch watches uses use using
two three four five six seven eight nine ten eleven twelve twenty hundred dozen couple pair group
""".split())

# Adjectives frequent in captions (colours, sizes, ages, materials, descriptions), dropped as non-nouns.
ADJECTIVES: Set[str] = set("""
red orange yellow green blue purple pink brown black white gray grey golden silver dark light bright colorful
colourful big small large little tiny huge tall short long wide narrow young old new older younger elderly baby
wooden metal metallic plastic glass stone electric electronic acoustic musical beautiful pretty cute nice happy
sad funny busy empty full open closed other same different several many few first second third last
""".split()) - {'baby'}

# -ing / -ed words that are nouns (kept).
ING_ED_NOUNS: Set[str] = set("""
building ceiling painting clothing wedding ring king thing string wing spring morning evening sibling pudding
bed shed sled
""".split())

# Irregular plurals -> lemma; invariant plurals map to themselves.
IRREGULAR: Dict[str, str] = {
    'men': 'man', 'women': 'woman', 'children': 'child', 'people': 'person', 'mice': 'mouse', 'geese': 'goose',
    'feet': 'foot', 'teeth': 'tooth', 'oxen': 'ox', 'lice': 'louse', 'dice': 'die', 'sheep': 'sheep',
    'deer': 'deer', 'fish': 'fish', 'series': 'series', 'species': 'species', 'aircraft': 'aircraft',
    'police': 'police', 'cattle': 'cattle', 'knives': 'knife', 'wives': 'wife', 'lives': 'life',
    'leaves': 'leaf', 'wolves': 'wolf', 'calves': 'calf', 'halves': 'half', 'shelves': 'shelf',
    'thieves': 'thief', 'loaves': 'loaf', 'scarves': 'scarf', 'hooves': 'hoof', 'potatoes': 'potato',
    'tomatoes': 'tomato', 'heroes': 'hero', 'echoes': 'echo', 'cellos': 'cello', 'pianos': 'piano',
    'radios': 'radio', 'photos': 'photo', 'buses': 'bus', 'glasses': 'glass', 'axes': 'axe',
}
# Words ending in s that are singular.
SINGULAR_S: Set[str] = set("""
bus gas glass grass class brass dress boss chess cross moss kiss bass lens news physics mathematics
tennis canvas atlas cactus octopus walrus virus campus circus bonus status hippopotamus rhinoceros
chassis series species always perhaps harmonica
""".split())

_TOKEN = re.compile(r"[A-Za-z]+(?:[-'][A-Za-z]+)*")


def lemmatize(word: str) -> str:
    """Singular of an English noun by rule ("birds" -> "bird", "puppies" -> "puppy", "wolves" -> "wolf").

    Irregular and invariant plurals come from a table; otherwise ``-ies`` -> ``-y``, ``-ses`` / ``-xes`` /
    ``-zes`` / ``-ches`` / ``-shes`` -> drop ``es``, ``-s`` (not ``-ss`` / ``-us`` / ``-is``) -> drop ``s``.
    """
    w = word.lower()
    if w in IRREGULAR:
        return IRREGULAR[w]
    if w in SINGULAR_S or len(w) <= 3:
        return w
    if w.endswith('ies') and len(w) > 4:
        return w[:-3] + 'y'
    if w.endswith(('ches', 'shes', 'sses', 'xes', 'zes')):
        return w[:-2]
    if w.endswith('s') and not w.endswith(('ss', 'us', 'is')):
        return w[:-1]
    return w


def _rule_nouns(caption: str) -> List[str]:
    nouns = []
    for token in _TOKEN.findall(caption):
        w = token.lower()
        if w.endswith("'s"):
            w = w[:-2]
        w = w.strip("'")
        if not w or w in STOPWORDS or w in ADJECTIVES:
            continue
        if w.endswith('ly') and len(w) > 4:
            continue
        if (w.endswith('ing') or w.endswith('ed')) and w not in ING_ED_NOUNS:
            continue
        lemma = lemmatize(w)
        if lemma in STOPWORDS or lemma in ADJECTIVES:
            continue
        nouns.append(lemma)
    return nouns


def _nltk_nouns(caption: str) -> List[str]:
    try:
        import nltk
        from nltk.stem import WordNetLemmatizer
    except ImportError:
        raise ImportError("extract_nouns(parser='nltk') needs nltk installed (with its data present locally); "
                          "parser='rules' needs nothing") from None
    try:
        tagged = nltk.pos_tag(nltk.word_tokenize(caption))
        lemmatizer = WordNetLemmatizer()
        return [lemmatizer.lemmatize(w.lower(), 'n') for w, tag in tagged if tag in ('NN', 'NNS')]
    except LookupError as e:
        raise LookupError(f"extract_nouns(parser='nltk'): NLTK data missing locally ({e}); nothing is downloaded"
                          ) from None


def extract_nouns(caption: str, parser: str = 'rules') -> List[str]:
    """Nouns of a caption, lemmatised, in order of appearance without repeats.

    Args:
        caption: the caption text.
        parser: ``'rules'`` (built in, see the module docstring) or ``'nltk'``.

    Returns:
        The nouns, e.g. ``"There is a pink parrot standing on a woman's hand"`` -> ``['parrot', 'woman', 'hand']``.
    """
    if parser == 'rules':
        nouns = _rule_nouns(caption)
    elif parser == 'nltk':
        nouns = _nltk_nouns(caption)
    else:
        raise ValueError(f"extract_nouns: parser must be 'rules' or 'nltk', got {parser!r}")
    return list(OrderedDict.fromkeys(nouns))


def category_words(name: str) -> List[str]:
    """The words of a category name: ``"emergency-car"`` -> ``['emergency', 'car']``, ``"hair dryer"`` likewise."""
    return [w for w in re.split(r'[-_\s]+', name.lower()) if w]


def load_glove(path: str, words: Optional[Iterable[str]] = None) -> Dict[str, np.ndarray]:
    """Read a GloVe text file (``word v1 v2 ...`` per line, e.g. ``glove.6B.300d.txt``).

    Args:
        path: the text file.
        words: only keep these words (the full 6B file holds 400k words; the nouns and category words of a
            dataset are a few thousand). ``None`` keeps all.

    Returns:
        word -> float32 vector, all of one dimension (else ``ValueError`` naming the line).
    """
    wanted = None if words is None else {w.lower() for w in words}
    vectors: Dict[str, np.ndarray] = {}
    dim = None
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, 1):
            parts = line.rstrip('\n').split(' ')
            if len(parts) < 2:
                continue
            word = parts[0]
            if dim is None:
                dim = len(parts) - 1
            if len(parts) - 1 != dim:
                raise ValueError(f'{path}:{line_no}: {len(parts) - 1} values, the file\'s vectors have {dim}')
            if wanted is not None and word not in wanted:
                continue
            try:
                vectors[word] = np.asarray(parts[1:], dtype=np.float32)
            except ValueError:
                raise ValueError(f'{path}:{line_no}: the vector of {word!r} is not numeric') from None
    if dim is None:
        raise ValueError(f'{path}: no vectors')
    return vectors


class CategoryMatcher:
    """Eq. 1 of BAVS: each noun is replaced by the category of highest cosine similarity ``cos(F(n), F(c))``.

    ``F`` is a word-vector table (GloVe); a multi-word category is the mean of its words' vectors [R]. A noun equal
    to a category name (or to the singular of a one-word category) maps to it directly, which is what Eq. 1 gives
    whenever the word has a vector (its similarity with itself is 1). The paper has no similarity threshold;
    ``sim_thr`` (default ``None``) drops nouns whose best similarity is below it [R, A9].

    Args:
        classes: the category dictionary C (the PSOS vocabulary, background excluded).
        vectors: word -> vector (e.g. :func:`load_glove`); may be ``None`` when every noun is a category name
            (the oracle captioner).
        sim_thr: optional similarity threshold.

    Attributes:
        oov: words looked up without a vector (nouns and category words), for the report.
    """

    def __init__(self, classes: Sequence[str], vectors: Optional[Dict[str, np.ndarray]] = None,
                 sim_thr: Optional[float] = None):
        self.classes = list(classes)
        if not self.classes:
            raise ValueError('CategoryMatcher: empty category dictionary')
        self.vectors = vectors
        self.sim_thr = sim_thr
        self.oov: Set[str] = set()
        self._direct = {}
        for c in self.classes:
            self._direct[' '.join(category_words(c))] = c
        self._class_matrix = None
        self.class_oov: List[str] = []
        if vectors is not None:
            rows, missing = [], []
            for c in self.classes:
                vec = self._phrase_vector(category_words(c))
                if vec is None:
                    missing.append(c)
                rows.append(vec)
            self.class_oov = missing
            dim = next((r.shape[0] for r in rows if r is not None), None)
            if dim is None:
                raise ValueError(f'CategoryMatcher: no category of {self.classes} has a word vector')
            mat = np.stack([r if r is not None else np.zeros(dim, np.float32) for r in rows])
            norms = np.linalg.norm(mat, axis=1, keepdims=True)
            self._class_matrix = mat / np.maximum(norms, 1e-12)

    def _phrase_vector(self, words: List[str]) -> Optional[np.ndarray]:
        vecs = []
        for w in words:
            v = self.vectors.get(w)
            if v is None:
                self.oov.add(w)
            else:
                vecs.append(v)
        return np.mean(vecs, axis=0) if vecs else None

    def match(self, noun: str) -> Tuple[Optional[str], float]:
        """``(category, similarity)`` of a noun; ``(None, 0.0)`` when it has no vector or is below ``sim_thr``."""
        key = ' '.join(category_words(noun))
        if key in self._direct:
            return self._direct[key], 1.0
        if self.vectors is None:
            raise ValueError(f'CategoryMatcher: noun {noun!r} is not a category name and no word vectors were '
                             'given (pass a GloVe file)')
        vec = self._phrase_vector(category_words(noun))
        if vec is None:
            return None, 0.0
        sims = self._class_matrix @ (vec / max(float(np.linalg.norm(vec)), 1e-12))
        best = int(np.argmax(sims))
        sim = float(sims[best])
        if self.sim_thr is not None and sim < self.sim_thr:
            return None, sim
        return self.classes[best], sim


def frame_silent_labels(caption: str, gt_categories: Iterable[str], matcher: CategoryMatcher,
                        parser: str = 'rules', nouns: Optional[Sequence[str]] = None) -> dict:
    """Silent categories of one frame: ``S = map(nouns(caption)) \\ GT``.

    Args:
        caption: the frame's caption.
        gt_categories: category names of the frame's ground truth (its sounding objects).
        matcher: the noun -> category mapping.
        parser: noun parser of :func:`extract_nouns`.
        nouns: the nouns when the captioner gives them (the oracle); parsed from ``caption`` otherwise.

    Returns:
        ``dict(caption=str, nouns=[...], mapped=[category or None per noun], similarity=[float per noun],
        silent=[categories, in order of first mention])``.
    """
    gt = set(gt_categories)
    unknown = gt - set(matcher.classes)
    if unknown:
        raise ValueError(f'frame_silent_labels: ground-truth categories {sorted(unknown)} are not in the category '
                         'dictionary')
    nouns = list(nouns) if nouns is not None else extract_nouns(caption, parser)
    mapped, sims = [], []
    for n in nouns:
        c, s = matcher.match(n)
        mapped.append(c)
        sims.append(round(s, 4))
    silent = [c for c in OrderedDict.fromkeys(m for m in mapped if m is not None) if c not in gt]
    return dict(caption=caption, nouns=nouns, mapped=mapped, similarity=sims, silent=silent)
