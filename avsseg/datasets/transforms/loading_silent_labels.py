"""Loading BAVS's per-frame silent-object labels (``tools/dataset_converters/make_silent_labels.py``)."""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmcv.transforms import BaseTransform

from avsseg.registry import TRANSFORMS

SILENT_LABELS_FORMAT = 'avsseg-silent-labels/1'


@TRANSFORMS.register_module()
class LoadSilentObjectLabels(BaseTransform):
    """Put each frame's silent categories (class indices) into ``results['silent_labels']``.

    The file is the JSON written by ``make_silent_labels.py`` (format ``avsseg-silent-labels/1``, see
    ``docs/bavs.md``): ``classes`` (the category dictionary) and ``frames``, keyed by the frame path relative to the
    dataset root, each with ``silent`` (category names). ``PackAVSInputs`` copies each frame's entry into its
    ``SegDataSample`` metainfo ``silent_labels``, which ``PSOSHead(silent_exclusion=True)`` reads (dataset class
    indices ``1..K``; 0 is the background). ``silent_labels`` is a per-frame key, so ``ClipSelectLabelledFrames``
    slices it with the frames.

    Required keys: ``img_paths`` (list of T, ``None`` for padded frames).
    Added keys: ``silent_labels`` (list of T lists of class indices; ``[]`` for padded frames).

    Args:
        ann_file: the silent-label JSON (absolute, or relative to ``data_root``).
        data_root: the dataset root the frame keys are relative to (the dataset's ``data_root``).
        classes: class names by index (the dataset's ``metainfo['classes']``, background first); default: the
            file's ``classes`` with the background at index 0, i.e. ``index = position + 1``.
        missing: a real frame absent from the file: ``'error'`` (default; names the frame and the file) or
            ``'empty'`` (no silent category).
    """

    def __init__(self,
                 ann_file: str,
                 data_root: Optional[str] = None,
                 classes: Optional[Sequence[str]] = None,
                 missing: str = 'error'):
        if missing not in ('error', 'empty'):
            raise ValueError(f"LoadSilentObjectLabels: missing must be 'error' or 'empty', got {missing!r}")
        self.ann_file = ann_file if osp.isabs(ann_file) or data_root is None else osp.join(data_root, ann_file)
        self.data_root = data_root
        self.missing = missing
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'LoadSilentObjectLabels: {self.ann_file!r} does not exist (write it with '
                                    'tools/dataset_converters/make_silent_labels.py)')
        with open(self.ann_file, encoding='utf-8') as f:
            data = json.load(f)
        if not isinstance(data, dict) or data.get('format') != SILENT_LABELS_FORMAT:
            raise ValueError(f'LoadSilentObjectLabels: {self.ann_file} is not an {SILENT_LABELS_FORMAT} file')
        file_classes = list(data.get('classes', []))
        if classes is None:
            index = {c: i + 1 for i, c in enumerate(file_classes)}
        else:
            index = {c: i for i, c in enumerate(classes)}
            absent = [c for c in file_classes if c not in index]
            if absent:
                raise ValueError(f'LoadSilentObjectLabels: categories {absent} of {self.ann_file} are not in the '
                                 f'classes given ({list(classes)})')
        self.labels: Dict[str, List[int]] = {}
        for key, entry in data.get('frames', {}).items():
            silent = entry.get('silent') if isinstance(entry, dict) else None
            if not isinstance(silent, list):
                raise ValueError(f'LoadSilentObjectLabels: {self.ann_file}: frame {key!r} has no "silent" list')
            unknown = [c for c in silent if c not in index]
            if unknown:
                raise ValueError(f'LoadSilentObjectLabels: {self.ann_file}: frame {key!r} lists unknown categories '
                                 f'{unknown}')
            self.labels[osp.normpath(key)] = sorted(index[c] for c in silent)

    def key_of(self, img_path: str) -> str:
        """The file's key of a frame path."""
        if self.data_root is not None:
            # a relative data_root (the configs' 'data/...') gives relative frame paths under it too
            root, path = osp.abspath(self.data_root), osp.abspath(img_path)
            if osp.isabs(img_path) or path.startswith(root + osp.sep):
                return osp.normpath(osp.relpath(path, root))
        return osp.normpath(img_path)

    def transform(self, results: Dict) -> Dict:
        out = []
        for path in results['img_paths']:
            if path is None:
                out.append([])
                continue
            key = self.key_of(path)
            if key in self.labels:
                out.append(list(self.labels[key]))
            elif self.missing == 'empty':
                out.append([])
            else:
                raise KeyError(f'LoadSilentObjectLabels: frame {key!r} (clip {results.get("clip_id")}) is not in '
                               f'{self.ann_file}')
        results['silent_labels'] = out
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(ann_file={self.ann_file!r}, missing={self.missing!r})'
