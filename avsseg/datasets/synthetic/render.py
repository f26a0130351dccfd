"""Scenes of the synthetic dataset: sampling the objects of a clip, rasterising them, drawing the frames.

A scene is a static background plus a few objects, each of a different category, moving along straight lines
while they grow / shrink and turn a little. Sounding and silent objects are drawn from the *same* size,
position, motion and draw-order distributions, so nothing visual tells them apart. Objects are opaque and
painted back to front without anti-aliasing; the instance map of a frame records which object owns each pixel,
so a mask made from it is exactly the visible pixels of the chosen objects.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .categories import SyntheticCategory

#: Sub-pixel bits used when rasterising polygons, so slow motion is smooth.
_SHIFT = 4
#: Instance-map value of pixels that no object covers.
BACKGROUND_ID = -1


def _regular_polygon(num: int, radius: float = 1.0, phase_deg: float = -90.0) -> np.ndarray:
    ang = np.deg2rad(phase_deg) + 2 * np.pi * np.arange(num) / num
    return np.stack([np.cos(ang), np.sin(ang)], axis=1) * radius


def _star(points: int = 5, inner: float = 0.45) -> np.ndarray:
    outer = _regular_polygon(points)
    inner_pts = _regular_polygon(points, inner, -90.0 + 180.0 / points)
    return np.stack([outer, inner_pts], axis=1).reshape(-1, 2)


def _cross(half_width: float = 0.32) -> np.ndarray:
    w = half_width
    return np.array([[-w, -1], [w, -1], [w, -w], [1, -w], [1, w], [w, w], [w, 1], [-w, 1], [-w, w], [-1, w],
                     [-1, -w], [-w, -w]])


#: Unit outlines (farthest point at distance 1 from the centre, y pointing down): ``(outer, hole or None)``.
_OUTLINES: Dict[str, Tuple[np.ndarray, Optional[np.ndarray]]] = {
    'disc': (_regular_polygon(64), None),
    'square': (np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) / np.sqrt(2), None),
    'triangle': (_regular_polygon(3), None),
    'ring': (_regular_polygon(64), _regular_polygon(64, 0.55)),
    'cross': (_cross() / np.hypot(1, 0.32), None),
    'star': (_star(), None),
    'diamond': (np.array([[0, -1], [0.6, 0], [0, 1], [-0.6, 0]]), None),
    'hexagon': (_regular_polygon(6, phase_deg=0.0), None),
}


def shape_outline(shape: str) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Unit outline of ``shape``: ``(outer [N, 2], hole [M, 2] or None)`` in (x, y), radius 1."""
    if shape not in _OUTLINES:
        raise KeyError(f'unknown synthetic shape {shape!r}; known: {sorted(_OUTLINES)}')
    return _OUTLINES[shape]


@dataclass
class SceneObject:
    """One object of a clip and its per-frame pose.

    Attributes:
        category: Its category (look and sound).
        sounding: Whether it sounds (is in the masks) in this clip.
        centers: ``[T, 2]`` float (x, y) pixel centre per frame.
        radii: ``[T]`` float outline radius in pixels per frame.
        angles: ``[T]`` float rotation in degrees per frame.
        colour: ``[3]`` float RGB body colour (category colour with a small jitter).
        shade_dir: ``[2]`` unit vector of the shading ramp.
        shade_strength: Relative brightness change from the centre to the rim along ``shade_dir``.
    """
    category: SyntheticCategory
    sounding: bool
    centers: np.ndarray
    radii: np.ndarray
    angles: np.ndarray
    colour: np.ndarray
    shade_dir: np.ndarray
    shade_strength: float

    def polygons(self, t: int) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Pixel polygons ``(outer [N, 2], hole or None)`` of the object in frame ``t``."""
        outer, hole = shape_outline(self.category.shape)
        a = np.deg2rad(self.angles[t])
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])

        def place(poly):
            return poly @ rot.T * self.radii[t] + self.centers[t]

        return place(outer), (None if hole is None else place(hole))

    def rasterize(self, t: int, size: int) -> np.ndarray:
        """Full (unoccluded) mask of the object in frame ``t``: bool ``[size, size]``."""
        canvas = np.zeros((size, size), np.uint8)
        outer, hole = self.polygons(t)
        scale = 1 << _SHIFT
        # fillPoly treats integer vertices as pixel centres; with `shift` they are fixed-point sub-pixels.
        cv2.fillPoly(canvas, [np.round((outer - 0.5) * scale).astype(np.int32)], 1, cv2.LINE_8, _SHIFT)
        if hole is not None:
            cv2.fillPoly(canvas, [np.round((hole - 0.5) * scale).astype(np.int32)], 0, cv2.LINE_8, _SHIFT)
        return canvas.astype(bool)

    def to_record(self) -> Dict:
        """JSON-friendly description (category, sounding, per-frame pose)."""
        return dict(
            category=self.category.name,
            sounding=bool(self.sounding),
            centers=np.round(self.centers, 3).tolist(),
            radii=np.round(self.radii, 3).tolist(),
            angles=np.round(self.angles, 3).tolist(),
            colour=np.round(self.colour, 1).tolist())


@dataclass
class Scene:
    """A clip's visual content: a background and the objects in draw order (back to front)."""
    size: int
    num_frames: int
    background: np.ndarray  # float32 [size, size, 3]
    objects: List[SceneObject]

    def instance_maps(self) -> Tuple[np.ndarray, np.ndarray]:
        """Which object owns each pixel, and each object's unoccluded area.

        Returns:
            ``(inst, full_area)``: int16 ``[T, size, size]`` object index in :attr:`objects` order
            (:data:`BACKGROUND_ID` where no object is), and int64 ``[num_objects, T]`` unoccluded pixel counts.
        """
        inst = np.full((self.num_frames, self.size, self.size), BACKGROUND_ID, np.int16)
        full = np.zeros((len(self.objects), self.num_frames), np.int64)
        for t in range(self.num_frames):
            for i, obj in enumerate(self.objects):
                m = obj.rasterize(t, self.size)
                inst[t][m] = i
                full[i, t] = m.sum()
        return inst, full


def _sample_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Low-saturation two-colour gradient plus smooth low-contrast blotches: float32 ``[size, size, 3]``."""
    def muted():
        return rng.uniform(55, 165) + rng.uniform(-22, 22, size=3)

    c0, c1 = muted(), muted()
    ang = rng.uniform(0, 2 * np.pi)
    coords = ((np.arange(size) + 0.5) / size - 0.5).astype(np.float32)
    ramp = np.cos(ang) * coords[None, :] + np.sin(ang) * coords[:, None]
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    bg = (c0 + (c1 - c0) * ramp[..., None]).astype(np.float32)
    blotch = rng.normal(0, 12, size=(6, 6, 3)).astype(np.float32)
    bg = bg + cv2.resize(blotch, (size, size), interpolation=cv2.INTER_CUBIC)
    return bg.astype(np.float32)


def _sample_object(rng: np.random.Generator, category: SyntheticCategory, sounding: bool, size: int,
                   num_frames: int, radius_range: Tuple[float, float]) -> SceneObject:
    r0 = rng.uniform(*radius_range) * size
    r1 = r0 * rng.uniform(0.85, 1.15)
    r_max = max(r0, r1)
    lo, hi = r_max + 1, size - r_max - 1
    start = rng.uniform(lo, hi, size=2)
    # Prefer visibly moving objects: redraw the end point a few times if the path is very short.
    for _ in range(10):
        end = rng.uniform(lo, hi, size=2)
        if np.hypot(*(end - start)) >= 0.1 * size:
            break
    frac = np.linspace(0.0, 1.0, num_frames)[:, None]
    a0 = rng.uniform(-20, 20)
    a1 = a0 + rng.uniform(-15, 15)
    shade_ang = rng.uniform(0, 2 * np.pi)
    return SceneObject(
        category=category,
        sounding=sounding,
        centers=start + (end - start) * frac,
        radii=r0 + (r1 - r0) * frac[:, 0],
        angles=a0 + (a1 - a0) * frac[:, 0],
        colour=np.clip(np.asarray(category.colour, np.float64) + rng.uniform(-12, 12, size=3), 0, 255),
        shade_dir=np.array([np.cos(shade_ang), np.sin(shade_ang)]),
        shade_strength=float(rng.uniform(0.08, 0.22)))


def sample_scene(rng: np.random.Generator,
                 sounding: Sequence[SyntheticCategory],
                 silent: Sequence[SyntheticCategory],
                 size: int,
                 num_frames: int,
                 radius_range: Tuple[float, float] = (0.11, 0.2),
                 min_visible: float = 0.6,
                 max_tries: int = 200) -> Tuple[Scene, np.ndarray, np.ndarray]:
    """Sample a scene whose objects all stay at least ``min_visible`` visible in every frame.

    Args:
        rng: Random generator of the clip.
        sounding: Categories of the sounding objects (one object each).
        silent: Categories of the silent objects (one object each, none shared with ``sounding``).
        size: Frame side in pixels.
        num_frames: T.
        radius_range: Outline radius range as a fraction of ``size`` for scenes of up to 3 objects; scenes
            with more objects scale it by ``sqrt(3 / n)`` so they still fit. Same for every object.
        min_visible: Smallest visible / unoccluded area ratio allowed for any object in any frame.
        max_tries: Rejection-sampling budget; every 50 failed tries the radii shrink by 10%, for all objects
            alike.

    Returns:
        ``(scene, inst, full_area)`` with the scene's :meth:`Scene.instance_maps`.
    """
    names = [c.name for c in sounding] + [c.name for c in silent]
    if len(set(names)) != len(names):
        raise ValueError(f'objects of one scene must have distinct categories, got {names}')
    n = len(names)
    crowd = min(1.0, np.sqrt(3.0 / max(n, 1)))
    shrink = 1.0
    background = _sample_background(rng, size)
    for attempt in range(max_tries):
        if attempt and attempt % 50 == 0:
            shrink *= 0.9
        rr = (radius_range[0] * crowd * shrink, radius_range[1] * crowd * shrink)
        objs = [_sample_object(rng, c, True, size, num_frames, rr) for c in sounding]
        objs += [_sample_object(rng, c, False, size, num_frames, rr) for c in silent]
        order = rng.permutation(n)
        scene = Scene(size, num_frames, background, [objs[i] for i in order])
        inst, full = scene.instance_maps()
        visible = np.stack([(inst == i).sum(axis=(1, 2)) for i in range(n)]) if n else full
        if n == 0 or (full.min() > 0 and (visible / np.maximum(full, 1)).min() >= min_visible):
            return scene, inst, full
    raise RuntimeError(f'could not place {n} objects ({names}) at {size}px with {min_visible:.0%} of each '
                       f'visible in {max_tries} tries; use a larger image size')


def render_frames(scene: Scene,
                  inst: np.ndarray,
                  rng: np.random.Generator,
                  noise_amplitude: int = 3) -> List[np.ndarray]:
    """Paint the frames of ``scene`` from its instance maps.

    Each object's body is its colour times a linear shading ramp across the object; a little pixel noise
    covers the whole frame (camera noise), so neither objects nor background are flat colours.

    Args:
        scene: The scene.
        inst: ``[T, size, size]`` instance maps from :meth:`Scene.instance_maps`.
        rng: Random generator of the clip.
        noise_amplitude: The per-pixel noise is uniform on the integers ``[-a, a]`` (std 2 for ``a = 3``);
            integer noise is several times cheaper to draw than Gaussian noise, which matters at 600 clips.

    Returns:
        T RGB uint8 frames ``[size, size, 3]``.
    """
    size = scene.size
    grid = np.arange(size, dtype=np.float32) + 0.5
    background = np.round(scene.background).astype(np.int16)
    frames = []
    for t in range(scene.num_frames):
        img = background.copy()
        for i, obj in enumerate(scene.objects):
            # Work in the object's bounding square only: every outline lies within `radius` of the centre.
            cx, cy = obj.centers[t]
            r = obj.radii[t]
            x0, x1 = max(int(cx - r) - 2, 0), min(int(cx + r) + 3, size)
            y0, y1 = max(int(cy - r) - 2, 0), min(int(cy + r) + 3, size)
            m = inst[t, y0:y1, x0:x1] == i
            ramp = ((grid[x0:x1] - cx)[None, :] * obj.shade_dir[0] +
                    (grid[y0:y1] - cy)[:, None] * obj.shade_dir[1]) / r
            shade = 1.0 + obj.shade_strength * np.clip(ramp, -1, 1)
            body = np.round(shade[..., None].astype(np.float32) * obj.colour.astype(np.float32))
            img[y0:y1, x0:x1][m] = body[m].astype(np.int16)
        if noise_amplitude:
            img += rng.integers(-noise_amplitude, noise_amplitude + 1, size=img.shape, dtype=np.int8)
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return frames
