"""Comparing configs key by key: which flattened paths two configs disagree on."""
from typing import Dict, Set


def flatten(value, prefix: str = '') -> Dict[str, object]:
    """``{'a.b.0': leaf, 'a.b.len': 2, ...}`` for nested dicts and sequences (lengths included, so a shorter
    list differs)."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = [('len', len(value))] + list(enumerate(value))
    else:
        return {prefix.rstrip('.'): value}
    out = {}
    for key, item in items:
        out.update(flatten(item, f'{prefix}{key}.'))
    return out


def differing_keys(a: dict, b: dict) -> Set[str]:
    """Flattened paths whose values differ (or exist in one config only)."""
    fa, fb = flatten(a), flatten(b)
    return {k for k in set(fa) | set(fb) if fa.get(k, '<missing>') != fb.get(k, '<missing>')}
