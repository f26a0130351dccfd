"""Class-index ground truth for the binary S4 masks from the clip's category (the two-stage methods' stage 1)."""
from typing import Dict, Mapping, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from avsseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ClipCategoryToLabel(BaseTransform):
    """Turn a clip's binary masks into class-index masks of its category.

    S4 has one sounding category per clip (``results['category']``, column 2 of ``s4_meta_data.csv``) and binary
    masks; the potential-sounding-object stage of seed 001 / BAVS needs the class of each ground-truth object
    (seed001.md §4 A2: each S4 frame is one (category, mask) instance, the whole foreground even when it shows two
    objects of that category). Per frame: value 1 -> the category's class index (``classes.index(name) + 1``;
    0 stays background), ``ignore_index`` stays; a clip of a ``silent_categories`` category (the synthetic sets'
    ``'silent'``) becomes all background (ignore pixels kept). Place it after ``LoadClipAnnotations`` (which
    decodes binary masks to 0/1); a frame whose map is None (not loaded) is left as None.

    Errors name the clip: an unknown category, a clip without a category, values other than 0, 1 and
    ``ignore_index``.

    Args:
        classes: the K category names in class-index order (class ``i + 1`` is ``classes[i]``; 0 is background).
        category_map: optional renaming applied first (e.g. the 23 S4 categories -> AVSS class names for BAVS's
            shared 70-class label space); a category absent from it keeps its name.
        silent_categories: categories of clips in which nothing sounds (all background).
        ignore_index: value of unlabelled pixels.
    """

    def __init__(self,
                 classes: Sequence[str],
                 category_map: Optional[Mapping[str, str]] = None,
                 silent_categories: Sequence[str] = ('silent', ),
                 ignore_index: int = 255):
        self.classes = tuple(classes)
        if not self.classes or len(set(self.classes)) != len(self.classes):
            raise ValueError(f'ClipCategoryToLabel: classes must be distinct category names, got {self.classes}')
        if len(self.classes) + 1 >= ignore_index:
            raise ValueError(f'ClipCategoryToLabel: {len(self.classes)} classes collide with ignore_index '
                             f'{ignore_index}')
        self.category_map = dict(category_map or {})
        unknown = sorted(set(self.category_map.values()) - set(self.classes) - set(silent_categories))
        if unknown:
            raise ValueError(f'ClipCategoryToLabel: category_map maps to {unknown}, which are not in classes')
        self.silent_categories = tuple(silent_categories)
        self.ignore_index = int(ignore_index)

    def class_index(self, category: Optional[str], clip: str) -> int:
        """The class index (``1..K``) of a category, 0 for a silent one; an error naming the clip otherwise."""
        if category is None:
            raise KeyError(f'ClipCategoryToLabel: clip {clip} has no category (S4 takes it from s4_meta_data.csv)')
        name = self.category_map.get(category, category)
        if name in self.silent_categories:
            return 0
        if name not in self.classes:
            shown = ', '.join(self.classes[:8]) + (', ...' if len(self.classes) > 8 else '')
            raise ValueError(f'ClipCategoryToLabel: clip {clip} has category {category!r}'
                             f'{f" (mapped to {name!r})" if name != category else ""}, which is not among the '
                             f'{len(self.classes)} classes ({shown})')
        return self.classes.index(name) + 1

    def transform(self, results: Dict) -> Dict:
        clip = results.get('clip_id', '<unknown clip>')
        index = self.class_index(results.get('category'), clip)
        maps = results.get('gt_seg_maps')
        if maps is None:
            raise KeyError(f'ClipCategoryToLabel: clip {clip} has no gt_seg_maps; place it after LoadClipAnnotations')
        out = []
        for t, seg in enumerate(maps):
            if seg is None:
                out.append(None)
                continue
            seg = np.asarray(seg)
            bad = (seg != 0) & (seg != 1) & (seg != self.ignore_index)
            if bad.any():
                paths = results.get('seg_map_paths') or [None] * len(maps)
                raise ValueError(f'ClipCategoryToLabel: clip {clip} frame {t} ({paths[t]}) has values '
                                 f'{sorted(np.unique(seg[bad]).tolist())[:10]}; binary masks must be 0/1 '
                                 f'(ignore {self.ignore_index})')
            out.append(np.where(seg == 1, np.asarray(index, dtype=seg.dtype), seg))
        results['gt_seg_maps'] = out
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(classes={self.classes}, category_map={self.category_map}, '
                f'silent_categories={self.silent_categories}, ignore_index={self.ignore_index})')
