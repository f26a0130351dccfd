"""Procedurally generated AVSBench-style data (S4 / MS3 / AVSBench-semantic layouts, wav audio).

Entry point: :func:`generate_synthetic_avsbench`; command line: ``tools/dataset_converters/synthetic_avsbench.py``.
See ``docs/synthetic_data.md``.
"""
from .categories import CATEGORIES, SILENT_CATEGORY, SyntheticCategory, category_names, get_category
from .generator import (DEFAULT_NUM_VIDEOS, DEFAULT_SILENT_RATIO, DEFAULT_SPLIT_RATIOS, MASKIGE_ROOT_ENTRIES, SUBSETS,
                        generate_clip, generate_synthetic_avsbench, object_proposals, plan_clips)
from .render import Scene, SceneObject, render_frames, sample_scene, shape_outline
from .sound import NOISE_FLOOR_RMS, SAMPLE_RATE, SOURCE_RMS, synthesize_clip_audio, synthesize_source
from .writer import (AVSS_CSV_HEADER, AVSS_LABELS, LAYOUT_ROOT_ENTRIES, MS3_CSV_HEADER, S4_CSV_HEADER, SPLITS,
                     avss_label2idx, clip_paths, labelled_frames)

__all__ = [
    'CATEGORIES', 'SILENT_CATEGORY', 'SyntheticCategory', 'category_names', 'get_category', 'DEFAULT_NUM_VIDEOS',
    'DEFAULT_SILENT_RATIO', 'DEFAULT_SPLIT_RATIOS', 'MASKIGE_ROOT_ENTRIES', 'SUBSETS', 'generate_clip',
    'generate_synthetic_avsbench', 'object_proposals', 'plan_clips', 'Scene', 'SceneObject', 'render_frames',
    'sample_scene', 'shape_outline', 'NOISE_FLOOR_RMS',
    'SAMPLE_RATE', 'SOURCE_RMS', 'synthesize_clip_audio', 'synthesize_source', 'AVSS_CSV_HEADER', 'AVSS_LABELS',
    'LAYOUT_ROOT_ENTRIES', 'MS3_CSV_HEADER', 'S4_CSV_HEADER', 'SPLITS', 'avss_label2idx', 'clip_paths',
    'labelled_frames'
]
