"""Convert torchvggish's VGGish weights (and optionally its PCA parameters) to one avsseg checkpoint.

    python tools/model_converters/vggish2avsseg.py vggish-10086976.pth vggish_avsseg.pth \
        [--pca vggish_pca_params-970ea276.pth]

The output is ``{'state_dict': {...}, 'meta': {...}}`` holding only tensors, strings and numbers, so it loads
with ``torch.load(weights_only=True)`` and with ``VGGish(pretrained=DST)`` (add ``pca=True`` to use the PCA
tensors). Key names are torchvggish's: ``features.{0,3,6,8,11,13}.*``, ``embeddings.{0,2,4}.*``, plus
``pca_eigen_vectors`` [128, 128] and ``pca_means`` [128] with ``--pca``.

Security note: torchvggish's PCA file stores numpy arrays, which plain ``torch.load(weights_only=True)``
refuses. The converter first tries the safe loader with numpy's array reconstruction allowlisted; if the file
names other globals it falls back to ``weights_only=False``, which can run code embedded in the file. Only
pass a PCA file you trust (the official torchvggish release asset). A ``.npz`` (the TensorFlow release's
``vggish_pca_params.npz``) is read without pickle and needs no such trust.
"""
import argparse
import contextlib
import os
import pickle
from collections import OrderedDict
from typing import Dict, Optional

import numpy as np
import torch

BACKBONE_SHAPES = OrderedDict([
    ('features.0.weight', (64, 1, 3, 3)), ('features.0.bias', (64, )),
    ('features.3.weight', (128, 64, 3, 3)), ('features.3.bias', (128, )),
    ('features.6.weight', (256, 128, 3, 3)), ('features.6.bias', (256, )),
    ('features.8.weight', (256, 256, 3, 3)), ('features.8.bias', (256, )),
    ('features.11.weight', (512, 256, 3, 3)), ('features.11.bias', (512, )),
    ('features.13.weight', (512, 512, 3, 3)), ('features.13.bias', (512, )),
    ('embeddings.0.weight', (4096, 12288)), ('embeddings.0.bias', (4096, )),
    ('embeddings.2.weight', (4096, 4096)), ('embeddings.2.bias', (4096, )),
    ('embeddings.4.weight', (128, 4096)), ('embeddings.4.bias', (128, )),
])


def load_backbone(src: str) -> Dict[str, torch.Tensor]:
    """Reads and checks the torchvggish state dict (a plain tensor dict: ``weights_only=True`` works)."""
    if not os.path.isfile(src):
        raise FileNotFoundError(f'VGGish weights not found: {src!r}')
    state = torch.load(src, map_location='cpu', weights_only=True)
    if isinstance(state, dict) and 'state_dict' in state:
        state = state['state_dict']
    if not isinstance(state, dict):
        raise ValueError(f'{src!r} holds a {type(state).__name__}, expected a state dict')
    missing = [k for k in BACKBONE_SHAPES if k not in state]
    if missing:
        raise KeyError(f'{src!r} is not a torchvggish VGGish state dict: missing {missing}')
    out = OrderedDict()
    for key, shape in BACKBONE_SHAPES.items():
        tensor = torch.as_tensor(state[key]).detach().to(torch.float32).contiguous()
        if tuple(tensor.shape) != shape:
            raise ValueError(f'{src!r}: {key} has shape {list(tensor.shape)}, expected {list(shape)}')
        out[key] = tensor
    return out


def _numpy_array_globals() -> list:
    """The globals a pickled plain numpy array names, under numpy 1.x and 2.x module paths."""
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    out = [np.ndarray, np.dtype]
    for prefix in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        out += [(multiarray._reconstruct, f'{prefix}._reconstruct'), (multiarray.scalar, f'{prefix}.scalar')]
    out += sorted({type(np.dtype(t)) for t in ('float16', 'float32', 'float64', 'int32', 'int64')},
                  key=lambda c: c.__name__)
    return out


@contextlib.contextmanager
def _numpy_arrays_allowed():
    # Not torch.serialization.safe_globals: on exit it removes its entries even when they were allowlisted
    # before (avsseg allowlists the same ones at import), so the previous list is restored instead.
    previous = torch.serialization.get_safe_globals()
    torch.serialization.add_safe_globals(_numpy_array_globals())
    try:
        yield
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(previous)


def load_pca(pca_src: str) -> Dict[str, torch.Tensor]:
    """Reads ``pca_eigen_vectors`` [128, 128] and ``pca_means`` (reshaped from [128] or [128, 1] to [128])."""
    if not os.path.isfile(pca_src):
        raise FileNotFoundError(f'VGGish PCA parameters not found: {pca_src!r}')
    if pca_src.endswith('.npz'):
        with np.load(pca_src, allow_pickle=False) as npz:
            params = {k: npz[k] for k in npz.files}
    else:
        try:
            # Plain numpy arrays load safely once numpy's array reconstruction is allowlisted.
            with _numpy_arrays_allowed():
                params = torch.load(pca_src, map_location='cpu', weights_only=True)
        except pickle.UnpicklingError as err:
            # torchvggish saved numpy arrays with torch.save; a file pickled by another numpy version may
            # name globals the allowlist lacks. weights_only=False unpickles anything, so it is used only
            # here, once, on a file the user vouches for (see --help); the runtime (VGGish(pretrained=...))
            # only ever loads the converted file with weights_only=True.
            reason = str(err).splitlines()[0]
            print(f'note: {pca_src} needs the unrestricted loader ({reason}); loading it with '
                  'weights_only=False because you passed it as a trusted file')
            params = torch.load(pca_src, map_location='cpu', weights_only=False)
    if not isinstance(params, dict) or 'pca_eigen_vectors' not in params or 'pca_means' not in params:
        keys = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise KeyError(f'{pca_src!r} must hold pca_eigen_vectors and pca_means, found {keys}')
    eigen = torch.as_tensor(np.asarray(params['pca_eigen_vectors']), dtype=torch.float32).contiguous()
    means = torch.as_tensor(np.asarray(params['pca_means']), dtype=torch.float32).reshape(-1).contiguous()
    if tuple(eigen.shape) != (128, 128) or tuple(means.shape) != (128, ):
        raise ValueError(f'{pca_src!r}: expected pca_eigen_vectors [128, 128] and 128 pca_means, got '
                         f'{list(eigen.shape)} and {list(np.shape(params["pca_means"]))}')
    return OrderedDict(pca_eigen_vectors=eigen, pca_means=means)


def convert(src: str, dst: str, pca_src: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """Converts and saves; returns the written state dict."""
    state = load_backbone(src)
    if pca_src is not None:
        state.update(load_pca(pca_src))
    meta = dict(source=os.path.basename(src), pca_source=os.path.basename(pca_src) if pca_src else '',
                converter='tools/model_converters/vggish2avsseg.py')
    out_dir = os.path.dirname(os.path.abspath(dst))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(dict(state_dict=state, meta=meta), dst)
    return state


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert torchvggish VGGish weights (vggish-10086976.pth) and optionally its PCA '
        'parameters into one avsseg checkpoint loadable with torch.load(weights_only=True).',
        epilog='SECURITY: torchvggish stores the PCA parameters as pickled numpy arrays. A .pth/.pt --pca '
        'file is first loaded with torch.load(weights_only=True) allowing only numpy arrays; if that fails '
        'it is unpickled with weights_only=False, which can execute code hidden in the file. Only convert a '
        'PCA file you trust, e.g. the official torchvggish release asset vggish_pca_params-970ea276.pth; a '
        '.npz is read without pickle.')
    parser.add_argument('src', help='torchvggish weights, e.g. vggish-10086976.pth')
    parser.add_argument('dst', help='output checkpoint path')
    parser.add_argument('--pca', dest='pca_src', default=None,
                        help='PCA parameters: vggish_pca_params-970ea276.pth (must be trusted, see below) or '
                        'the TF release vggish_pca_params.npz')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    state = convert(args.src, args.dst, args.pca_src)
    num_params = sum(v.numel() for k, v in state.items() if k in BACKBONE_SHAPES)
    print(f'wrote {args.dst}: {len(state)} tensors, {num_params:,} VGGish parameters'
          f'{" + PCA" if args.pca_src else ""}')


if __name__ == '__main__':
    main()
