"""The category table of the synthetic AVSBench-style dataset.

Every category pairs one look (a shape in one colour) with one sound. The pairing is the whole task: each frame
shows the sounding object(s) next to silent objects of other categories, drawn from the same size / position /
motion distributions, so only the audio says which of the visible objects to segment.

Looks differ in shape *and* colour (saturated colours on low-saturation backgrounds). Sounds are chosen to be
easy to tell apart in a VGGish log-mel (64 mel bands, 125-7500 Hz, 10 ms hop, 0.96 s examples): they occupy
different mel regions and/or have different temporal patterns (steady, amplitude-modulated, swept, pulsed).
"""
from dataclasses import dataclass, field
from typing import Dict, Tuple


@dataclass(frozen=True)
class SyntheticCategory:
    """One synthetic category.

    Args:
        name: Category name; used as the S4 category folder, the AVSS class name and in ``a_obj``.
        shape: Shape key understood by :func:`avsseg.datasets.synthetic.render.shape_outline`.
        colour: Base RGB colour (0-255) of the object's body.
        sound: Sound recipe understood by :func:`avsseg.datasets.synthetic.sound.synthesize_source`:
            ``kind`` plus the kind's parameters (frequencies in Hz, rates in Hz, times in seconds).
        description: One-line human description of the sound (for docs and summaries).
    """
    name: str
    shape: str
    colour: Tuple[int, int, int]
    sound: Dict = field(hash=False, compare=False)
    description: str = ''


#: The categories, in class-index order (AVSS class index = position + 1; 0 is background).
CATEGORIES: Tuple[SyntheticCategory, ...] = (
    SyntheticCategory(
        'disc', 'disc', (220, 40, 40),
        dict(kind='harmonic', f0=200.0, num_harmonics=5),
        'hum: steady harmonic tone, f0 200 Hz, 5 harmonics (200-1000 Hz)'),
    SyntheticCategory(
        'square', 'square', (40, 80, 225),
        dict(kind='noise_band', low=4000.0, high=7000.0),
        'hiss: steady band-limited noise, 4-7 kHz'),
    SyntheticCategory(
        'triangle', 'triangle', (40, 175, 60),
        dict(kind='sweep', start=300.0, stop=1200.0, rate=4.0),
        'rising chirps: exponential sweeps 300 -> 1200 Hz, 4 per second'),
    SyntheticCategory(
        'ring', 'ring', (235, 205, 40),
        dict(kind='tremolo', freq=1800.0, am_rate=8.0),
        'tremolo: 1.8 kHz pure tone, fully amplitude-modulated at 8 Hz'),
    SyntheticCategory(
        'cross', 'cross', (205, 50, 205),
        dict(kind='clicks', rate=6.0, decay=0.015, low=1000.0),
        'clicks: 6 short decaying noise bursts per second (> 1 kHz)'),
    SyntheticCategory(
        'star', 'star', (40, 205, 215),
        dict(kind='sweep', start=6500.0, stop=3000.0, rate=2.0),
        'falling whistles: exponential sweeps 6.5 -> 3 kHz, 2 per second'),
    SyntheticCategory(
        'diamond', 'diamond', (245, 135, 30),
        dict(kind='noise_band', low=130.0, high=350.0, am_rate=3.0, am_depth=0.8),
        'rumble: band-limited noise 130-350 Hz, amplitude-modulated at 3 Hz'),
    SyntheticCategory(
        'hexagon', 'hexagon', (240, 240, 240),
        dict(kind='beeps', freq=2600.0, rate=4.0, duty=0.5),
        'beeps: 2.6 kHz pure tone gated on/off 4 times per second'),
)

#: Name used for the S4 category folder / AVSS ``a_obj`` of clips in which nothing sounds.
SILENT_CATEGORY = 'silent'


def category_names() -> Tuple[str, ...]:
    """Names of :data:`CATEGORIES` in class-index order."""
    return tuple(c.name for c in CATEGORIES)


def get_category(name: str) -> SyntheticCategory:
    """Look a category up by name; raises ``KeyError`` naming the known categories."""
    for cat in CATEGORIES:
        if cat.name == name:
            return cat
    raise KeyError(f'unknown synthetic category {name!r}; known: {list(category_names())}')
