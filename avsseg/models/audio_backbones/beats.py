"""BEATs audio encoder / AudioSet tagger (Chen et al., "BEATs: Audio Pre-Training with Acoustic Tokenizers",
ICML 2023), written for avsseg after the paper and microsoft/unilm ``beats/`` (MIT), with that code's parameter
names so the released checkpoints (``{'cfg', 'model', 'label_dict'}`` ``.pt`` files) load as they are.

No maintained pip package ships BEATs (speechbrain and ESPnet carry their own copies, neither is a dependency
here), hence this implementation. What it leaves out of the original: the padding mask for batches of unequal
lengths (avsseg feeds equal 1 s windows and zeroes padded frames itself), incremental decoding state and the
fairseq quantisation-noise hooks, none of which changes a forward pass of a released model.
"""
import json
import math
import os
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from avsseg.registry import MODELS
from .audioset_labels import read_class_labels_csv
from .fbank import KaldiFbank

#: ``BEATsConfig``'s defaults in microsoft/unilm ``beats/BEATs.py``. A checkpoint's ``cfg`` (and a user ``cfg``)
#: updates them, as ``BEATsConfig.update`` does, so a field a released checkpoint leaves out takes the same value
#: as in the original code. The released models are expected to set ``input_patch_size=16`` (16 x 16 patches, the
#: paper), ``relative_position_embedding``, ``gru_rel_pos`` and ``deep_norm``, and the fine-tuned ones
#: ``finetuned_model=True``; no released file was opened here: ``beats2avsseg.py`` prints a file's cfg.
BEATS_DEFAULT_CFG = dict(
    input_patch_size=-1,  # patch size of the fbank patch embedding (-1: must come from the checkpoint / cfg)
    embed_dim=512,  # patch embedding dimension
    conv_bias=False,  # bias of the patch embedding conv
    encoder_layers=12,
    encoder_embed_dim=768,
    encoder_ffn_embed_dim=3072,
    encoder_attention_heads=12,
    activation_fn='gelu',
    layer_wise_gradient_decay_ratio=1.0,  # gradient scale applied before every layer (fine-tuning only)
    layer_norm_first=False,  # pre-LN layers (False: post-LN)
    deep_norm=False,  # DeepNet residual scaling of the post-LN layers
    dropout=0.1,
    attention_dropout=0.1,
    activation_dropout=0.0,
    encoder_layerdrop=0.0,
    dropout_input=0.0,  # dropout after the patch embedding (and projection)
    conv_pos=128,  # kernel size of the convolutional position embedding
    conv_pos_groups=16,
    relative_position_embedding=False,
    num_buckets=320,
    max_distance=1280,
    gru_rel_pos=False,  # gate the relative position bias with the query
    finetuned_model=False,  # has the AudioSet predictor
    predictor_dropout=0.1,
    predictor_class=527,
)

#: cfg fields that change neither the parameters nor the eval-mode forward; a user ``cfg`` may override them on
#: top of a checkpoint's (every other field must agree with the checkpoint).
TRAINING_ONLY_KEYS = ('layer_wise_gradient_decay_ratio', 'dropout', 'attention_dropout', 'activation_dropout',
                      'encoder_layerdrop', 'dropout_input', 'predictor_dropout')

_ACTIVATIONS = {
    'relu': F.relu,
    # unilm computes gelu in float32 whatever the input dtype
    'gelu': lambda x: F.gelu(x.float()).type_as(x),
    'gelu_accurate': lambda x: F.gelu(x, approximate='tanh'),
    'tanh': torch.tanh,
    'linear': lambda x: x,
}


def relative_position_bucket(relative_position: Tensor, num_buckets: int, max_distance: int) -> Tensor:
    """T5-style bidirectional bucketing of relative positions, as BEATs' ``_relative_positions_bucket``.

    Half of the buckets hold positive offsets (key after query), half the others. Within a half, offsets below
    ``max_exact = num_buckets // 4`` get a bucket each; larger ones share logarithmically spaced buckets up to
    ``max_distance``, and everything beyond falls in the half's last bucket.

    Args:
        relative_position: integer offsets ``key_pos - query_pos``, any shape.
        num_buckets: total buckets (both directions).
        max_distance: offset mapped to the last bucket of a half.

    Returns:
        Long tensor of bucket indices in ``[0, num_buckets)``, same shape.
    """
    half = num_buckets // 2
    buckets = (relative_position > 0).long() * half
    distance = relative_position.abs()
    max_exact = half // 2
    is_small = distance < max_exact
    # clamp(min=1) only keeps log(0) out of the branch torch.where discards for small offsets
    large = max_exact + (torch.log(distance.clamp(min=1).float() / max_exact) / math.log(max_distance / max_exact) *
                         (half - max_exact)).long()
    large = large.clamp(max=half - 1)
    return buckets + torch.where(is_small, distance, large)


class _WeightNormConv1d(nn.Module):
    """Grouped Conv1d with weight normalisation over dim 2, then the 'same' trim (drop the last output step for
    an even kernel). Stores ``weight_g`` ``[1, 1, K]``, ``weight_v`` ``[C, C / groups, K]`` and ``bias`` under the
    names ``torch.nn.utils.weight_norm(conv, dim=2)`` gives them in the released checkpoints (its parametrized
    replacement would rename them).

    Input / output: ``[N, C, L]``.
    """

    def __init__(self, channels: int, kernel_size: int, groups: int):
        super().__init__()
        if channels % groups:
            raise ValueError(f'BEATs: encoder_embed_dim {channels} is not divisible by conv_pos_groups {groups}')
        self.kernel_size = kernel_size
        self.groups = groups
        weight = torch.empty(channels, channels // groups, kernel_size)
        # unilm: normal init with std sqrt(4 / (K * C)), zero bias; weight_norm then starts g at |v|
        nn.init.normal_(weight, mean=0, std=math.sqrt(4.0 / (kernel_size * channels)))
        self.weight_v = nn.Parameter(weight)
        self.weight_g = nn.Parameter(self._norm(weight.detach()).clone())
        self.bias = nn.Parameter(torch.zeros(channels))

    @staticmethod
    def _norm(v: Tensor) -> Tensor:
        return v.norm(dim=(0, 1), keepdim=True)

    def forward(self, x: Tensor) -> Tensor:
        weight = self.weight_v * (self.weight_g / self._norm(self.weight_v))
        out = F.conv1d(x, weight, self.bias, padding=self.kernel_size // 2, groups=self.groups)
        return out[:, :, :-1] if self.kernel_size % 2 == 0 else out


class _RelPosSelfAttention(nn.Module):
    """Multi-head self-attention with BEATs' (gated) relative position bias.

    ``softmax(q k^T / sqrt(d) + g * B) v``, with ``B[h, i, j]`` the learned bias of the bucket of ``j - i`` and,
    with ``gru_rel_pos``, a per-query, per-head gate ``g = a * (b * grep_a - 1) + 2`` where ``a, b`` are sigmoids
    of ``grep_linear`` applied to the head's query (8 outputs summed in two groups of 4).

    Input / output: ``[L, N, C]`` (sequence first, as unilm). ``position_bias`` ``[1, H, L, L]`` is the ungated
    bias, computed once by the encoder.
    """

    def __init__(self, embed_dim: int, num_heads: int, attention_dropout: float, gru_rel_pos: bool):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f'BEATs: encoder_embed_dim {embed_dim} is not divisible by encoder_attention_heads '
                             f'{num_heads}')
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.scaling = self.head_dim**-0.5
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        self.dropout = nn.Dropout(attention_dropout)
        self.gru_rel_pos = gru_rel_pos
        if gru_rel_pos:
            self.grep_linear = nn.Linear(self.head_dim, 8)
            self.grep_a = nn.Parameter(torch.ones(1, num_heads, 1, 1))

    def forward(self, x: Tensor, position_bias: Optional[Tensor] = None) -> Tensor:
        length, batch, _ = x.shape
        heads, dim = self.num_heads, self.head_dim
        q = self.q_proj(x).view(length, batch, heads, dim).permute(1, 2, 0, 3)  # [N, H, L, d]
        k = self.k_proj(x).view(length, batch, heads, dim).permute(1, 2, 0, 3)
        v = self.v_proj(x).view(length, batch, heads, dim).permute(1, 2, 0, 3)
        # unilm scales q down by alpha=32 and the max-subtracted logits back up, keeping q k^T inside the fp16
        # range; the row max does not change the softmax, so this equals q k^T / sqrt(d).
        alpha = 32.0
        logits = (q * (self.scaling / alpha)) @ k.transpose(-1, -2)
        logits = (logits - logits.amax(dim=-1, keepdim=True)) * alpha
        if position_bias is not None:
            bias = position_bias
            if self.gru_rel_pos:
                gates = torch.sigmoid(self.grep_linear(q).view(batch, heads, length, 2, 4).sum(-1))
                gate_a, gate_b = gates.chunk(2, dim=-1)  # [N, H, L, 1] each
                bias = (gate_a * (gate_b * self.grep_a - 1.0) + 2.0) * bias
            logits = logits + bias
        attn = self.dropout(F.softmax(logits, dim=-1).type_as(logits))
        out = (attn @ v).permute(2, 0, 1, 3).reshape(length, batch, self.embed_dim)
        return self.out_proj(out)


class _EncoderLayer(nn.Module):
    """One BEATs transformer layer: self-attention and FFN, post-LN (with DeepNet's residual scale
    ``alpha = (2 * num_layers) ** 0.25`` when ``deep_norm``) or pre-LN. Input / output ``[L, N, C]``."""

    def __init__(self, cfg: dict):
        super().__init__()
        dim = cfg['encoder_embed_dim']
        activation = cfg['activation_fn']
        if activation not in _ACTIVATIONS:
            raise ValueError(f'BEATs: activation_fn {activation!r} is not supported; choose one of '
                             f'{sorted(_ACTIVATIONS)} (the released models use "gelu")')
        self.activation_fn = _ACTIVATIONS[activation]
        self.self_attn = _RelPosSelfAttention(dim, cfg['encoder_attention_heads'], cfg['attention_dropout'],
                                              cfg['gru_rel_pos'])
        self.dropout1 = nn.Dropout(cfg['dropout'])
        self.dropout2 = nn.Dropout(cfg['activation_dropout'])
        self.dropout3 = nn.Dropout(cfg['dropout'])
        self.layer_norm_first = cfg['layer_norm_first']
        self.self_attn_layer_norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, cfg['encoder_ffn_embed_dim'])
        self.fc2 = nn.Linear(cfg['encoder_ffn_embed_dim'], dim)
        self.final_layer_norm = nn.LayerNorm(dim)
        self.deep_norm_alpha = math.pow(2 * cfg['encoder_layers'], 1 / 4) if cfg['deep_norm'] else 1.0

    def _ffn(self, x: Tensor) -> Tensor:
        return self.dropout3(self.fc2(self.dropout2(self.activation_fn(self.fc1(x)))))

    def forward(self, x: Tensor, position_bias: Optional[Tensor] = None) -> Tensor:
        if self.layer_norm_first:
            x = x + self.dropout1(self.self_attn(self.self_attn_layer_norm(x), position_bias))
            return x + self._ffn(self.final_layer_norm(x))
        x = self.self_attn_layer_norm(x * self.deep_norm_alpha + self.dropout1(self.self_attn(x, position_bias)))
        return self.final_layer_norm(x * self.deep_norm_alpha + self._ffn(x))


class _TransformerEncoder(nn.Module):
    """Convolutional position embedding, then the layers; one relative-position table shared by every layer
    (unilm builds it in layer 0 and assigns it to the others, so each layer's key appears in the state dict).

    Input / output ``[N, L, C]``.
    """

    def __init__(self, cfg: dict):
        super().__init__()
        dim = cfg['encoder_embed_dim']
        self.dropout = cfg['dropout']
        self.layerdrop = cfg['encoder_layerdrop']
        self.grad_decay = cfg['layer_wise_gradient_decay_ratio']
        self.layer_norm_first = cfg['layer_norm_first']
        self.pos_conv = nn.Sequential(_WeightNormConv1d(dim, cfg['conv_pos'], cfg['conv_pos_groups']), nn.GELU())
        self.layers = nn.ModuleList([_EncoderLayer(cfg) for _ in range(cfg['encoder_layers'])])
        self.relative_position_embedding = cfg['relative_position_embedding']
        self.num_buckets = cfg['num_buckets']
        self.max_distance = cfg['max_distance']
        if self.relative_position_embedding:
            if self.num_buckets < 4 or self.max_distance <= self.num_buckets // 4:
                raise ValueError(f'BEATs: need num_buckets >= 4 and max_distance > num_buckets // 4, got '
                                 f'num_buckets={self.num_buckets}, max_distance={self.max_distance}')
            table = nn.Embedding(self.num_buckets, cfg['encoder_attention_heads'])
            for layer in self.layers:
                layer.self_attn.relative_attention_bias = table
        self.layer_norm = nn.LayerNorm(dim)
        self._init_weights(cfg)

    def _init_weights(self, cfg: dict) -> None:
        """unilm's init: BERT's normal(0, 0.02) for Linear/Embedding weights with zero biases, then, with
        ``deep_norm``, Xavier-normal projections (gain ``(8 * num_layers) ** -0.25`` for v, out, fc1, fc2)."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if isinstance(module, nn.Linear) and module.bias is not None:
                    nn.init.zeros_(module.bias)
        if cfg['deep_norm']:
            beta = math.pow(8 * cfg['encoder_layers'], -1 / 4)
            for layer in self.layers:
                attn = layer.self_attn
                for linear, gain in ((attn.k_proj, 1.0), (attn.v_proj, beta), (attn.q_proj, 1.0),
                                     (attn.out_proj, beta), (layer.fc1, beta), (layer.fc2, beta)):
                    nn.init.xavier_normal_(linear.weight, gain=gain)

    def compute_position_bias(self, length: int) -> Tensor:
        """``[1, H, L, L]`` bias of the bucket of ``key - query`` for every head."""
        positions = torch.arange(length, device=self.layer_norm.weight.device)
        buckets = relative_position_bucket(positions[None, :] - positions[:, None], self.num_buckets,
                                           self.max_distance)
        table = self.layers[0].self_attn.relative_attention_bias
        return table(buckets).permute(2, 0, 1).unsqueeze(0)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.pos_conv(x.transpose(1, 2)).transpose(1, 2)
        if not self.layer_norm_first:
            x = self.layer_norm(x)
        x = F.dropout(x, p=self.dropout, training=self.training)
        x = x.transpose(0, 1)  # [L, N, C]
        bias = self.compute_position_bias(x.shape[0]) if self.relative_position_embedding else None
        for layer in self.layers:
            if self.grad_decay != 1.0:
                # forward unchanged, gradient scaled (unilm's GradMultiply)
                x = x * self.grad_decay + x.detach() * (1.0 - self.grad_decay)
            if self.training and self.layerdrop > 0 and torch.rand(()).item() < self.layerdrop:
                continue
            x = layer(x, bias)
        x = x.transpose(0, 1)
        return self.layer_norm(x) if self.layer_norm_first else x


# ---------------------------------------------------------------------------------------------- checkpoint files
def _label_dict_to_mids(label_dict, num_classes: int, source: str) -> List[str]:
    """``{index: mid}`` (the released ``label_dict``) or a sequence of mids -> list of ``num_classes`` mids."""
    if isinstance(label_dict, (list, tuple)):
        mids = list(label_dict)
    elif isinstance(label_dict, dict):
        keys = list(label_dict)
        if any(not isinstance(k, int) or isinstance(k, bool) for k in keys) or sorted(keys) != list(range(len(keys))):
            raise ValueError(f'{source}: label_dict must map the class indices 0..{len(label_dict) - 1} to '
                             f'AudioSet mids, got keys such as {list(label_dict)[:5]}')
        mids = [label_dict[k] for k in range(len(keys))]
    else:
        raise TypeError(f'{source}: label_dict must be a dict {{index: mid}} or a list of mids, got '
                        f'{type(label_dict).__name__}')
    bad = [m for m in mids if not isinstance(m, str) or not m]
    if bad:
        raise ValueError(f'{source}: label_dict values must be non-empty strings (AudioSet mids), got {bad[:3]}')
    if len(mids) != num_classes:
        raise ValueError(f'{source}: label_dict has {len(mids)} entries but the predictor has {num_classes} '
                         'classes')
    return mids


def load_beats_checkpoint(path: str) -> Dict[str, object]:
    """Reads a BEATs weight file: a released ``.pt`` or the output of ``tools/model_converters/beats2avsseg.py``.

    ``.pt`` / ``.pth``: ``torch.load(weights_only=True)`` of ``{'cfg': dict, 'model': state dict,
    'label_dict': {index: mid}}`` (label_dict only in fine-tuned models). unilm saves plain dicts of tensors,
    strings and numbers, which the safe loader accepts without allowlisting anything (third-party code loads
    ``BEATs_iter3_plus_AS2M.pt`` with ``weights_only=True``; no released file could be opened here). numpy
    scalars, if a re-saved file has them, are already allowlisted by avsseg (``avsseg.utils.checkpoint_compat``);
    any other global is refused with torch's reason and the file name.
    ``.safetensors``: the tensors are the state dict; ``cfg`` and ``label_dict`` are JSON in its metadata.

    Args:
        path: local file.

    Returns:
        ``dict(cfg=dict, model=OrderedDict[str, Tensor], label_dict=dict or None)``.

    Raises:
        FileNotFoundError / ValueError / RuntimeError naming the file.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f'BEATs weights must be a local file path, got {type(path).__name__}')
    path = os.fspath(path)
    if '://' in path:
        raise ValueError(f'BEATs weights must be a local file, not a URL ({path!r}); download the file and pass '
                         'its path (nothing is fetched at run time)')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'BEATs weights file not found: {path!r}')
    if path.endswith('.safetensors'):
        from safetensors import safe_open
        try:
            with safe_open(path, framework='pt') as f:
                meta = f.metadata() or {}
                model = OrderedDict((k, f.get_tensor(k)) for k in f.keys())
        except Exception as err:
            raise RuntimeError(f'cannot read BEATs safetensors file {path!r}: {err}') from None
        if 'beats_cfg' not in meta:
            raise ValueError(f'{path!r} has no "beats_cfg" metadata: it was not written by '
                             'tools/model_converters/beats2avsseg.py')
        try:
            cfg = json.loads(meta['beats_cfg'])
            labels = json.loads(meta['label_dict']) if 'label_dict' in meta else None
        except json.JSONDecodeError as err:
            raise ValueError(f'{path!r}: bad JSON in its metadata ({err})') from None
        if not isinstance(cfg, dict) or not (labels is None or isinstance(labels, dict)):
            raise ValueError(f'{path!r}: its "beats_cfg" / "label_dict" metadata must be JSON objects')
        label_dict = None if labels is None else {int(k): v for k, v in labels.items()}
        return dict(cfg=cfg, model=model, label_dict=label_dict)
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        reason = next((ln for ln in lines if 'Unsupported global' in ln), lines[0] if lines else repr(err))
        raise RuntimeError(f'cannot load BEATs weights {path!r} with torch.load(weights_only=True) ({reason}); '
                           'a BEATs checkpoint holds only dicts, tensors, strings and numbers') from None
    if not isinstance(obj, dict) or 'model' not in obj or 'cfg' not in obj:
        keys = sorted(map(str, obj)) if isinstance(obj, dict) else type(obj).__name__
        hint = (' (an mmengine checkpoint: load a whole avsseg model with load_from, not BEATs(pretrained=))'
                if isinstance(obj, dict) and 'state_dict' in obj else '')
        raise ValueError(f'{path!r} is not a BEATs checkpoint: expected a dict with "cfg" and "model" (and '
                         f'"label_dict" for fine-tuned models), found {keys}{hint}')
    cfg, model = obj['cfg'], obj['model']
    if not isinstance(cfg, dict):
        raise ValueError(f'{path!r}: "cfg" must be a dict of BEATsConfig fields, got {type(cfg).__name__}')
    if not isinstance(model, dict) or not all(isinstance(v, Tensor) for v in model.values()):
        raise ValueError(f'{path!r}: "model" must be a state dict of tensors')
    return dict(cfg=dict(cfg), model=OrderedDict(model), label_dict=obj.get('label_dict'))


def resolve_beats_cfg(file_cfg: Optional[dict], user_cfg: Optional[dict], source: str = 'BEATs') -> dict:
    """Full BEATs cfg: :data:`BEATS_DEFAULT_CFG` updated by a checkpoint's cfg, then by the user's.

    A checkpoint's unknown fields are dropped with a warning (the released cfgs may carry training-only
    leftovers); a user's unknown fields are an error. With a checkpoint, the user may change only
    :data:`TRAINING_ONLY_KEYS`; any other field must equal the checkpoint's.
    """
    cfg = dict(BEATS_DEFAULT_CFG)
    if file_cfg:
        unknown = sorted(set(file_cfg) - set(cfg))
        if unknown:
            warnings.warn(f'{source}: ignoring cfg fields unknown to BEATs: {unknown}')
        cfg.update({k: v for k, v in file_cfg.items() if k in cfg})
    if user_cfg:
        unknown = sorted(set(user_cfg) - set(cfg))
        if unknown:
            raise KeyError(f'{source}: unknown BEATs cfg fields {unknown}; known: {sorted(cfg)}')
        if file_cfg is not None:
            clash = {k: (cfg[k], v) for k, v in user_cfg.items() if k not in TRAINING_ONLY_KEYS and cfg[k] != v}
            if clash:
                raise ValueError(f'{source}: cfg disagrees with the checkpoint on {{field: (checkpoint, cfg)}} '
                                 f'{clash}; only {list(TRAINING_ONLY_KEYS)} may differ')
        cfg.update(user_cfg)
    patch = cfg['input_patch_size']
    if not isinstance(patch, int) or patch < 1:
        raise ValueError(f'{source}: input_patch_size must be a positive int (BEATsConfig defaults to -1 and '
                         f'the released models set 16), got {patch!r}')
    return cfg


@MODELS.register_module()
class BEATs(BaseModule):
    """BEATs: 16 kHz waveforms ``[N, L]`` -> clip embeddings ``[N, D]``, AudioSet logits or probabilities.

    Pipeline (unilm ``BEATs.extract_features``): Kaldi fbank ``[N, F, 128]`` (:class:`KaldiFbank` preset
    ``'beats'``: ``x * 2**15``, 25/10 ms povey windows, ``(fbank - 15.41663) / (2 * 6.55582)``) -> ``Conv2d``
    patch embedding (``input_patch_size`` square patches, stride = size) -> LayerNorm(embed_dim) ->
    ``post_extract_proj`` to ``encoder_embed_dim`` (when the two differ) -> dropout -> transformer encoder (grouped,
    weight-normalised conv position embedding; layers with T5-bucketed relative position bias, gated per query
    with ``gru_rel_pos``; post-LN with DeepNet scaling when ``deep_norm``). 1 s at 16 kHz: 98 x 128 fbank ->
    6 x 8 = 48 tokens (time-major) of ``encoder_embed_dim``.

    Outputs (``output=``):

    - ``'embedding'``: tokens mean-pooled, ``[N, encoder_embed_dim]`` (spec sheet seed001.md 1.2: mean pooling).
    - ``'logits'``: fine-tuned models only; ``predictor`` applied to every token, then averaged (unilm's order),
      ``[N, predictor_class]``.
    - ``'probs'``: ``sigmoid(logits)``, the released tagger's output (BAVS's tag confidences).

    Weights: ``pretrained`` is a released BEATs ``.pt`` (``{'cfg', 'model', 'label_dict'}``, loaded with
    ``torch.load(weights_only=True)``) or the ``.safetensors`` / ``.pth`` written by
    ``tools/model_converters/beats2avsseg.py``; parameter names are unilm's (``patch_embedding``,
    ``encoder.layers.{i}.self_attn.q_proj``, ``encoder.pos_conv.0.weight_g``, ``predictor``, ...). The
    architecture comes from the file's ``cfg``. Configs should also give ``cfg`` (equal to the file's) and, where
    ``label_mids`` are used, ``label_dict``, so the model is complete when ``tools/test.py`` drops a missing
    ``pretrained`` file and the weights come from the avsseg checkpoint (a state dict holds tensors only).

    Args:
        pretrained: local weight file, or None for random weights (unilm's init).
        cfg: BEATsConfig fields (:data:`BEATS_DEFAULT_CFG` names them; the defaults are unilm's). Without
            ``pretrained`` this is the architecture; with it, only :data:`TRAINING_ONLY_KEYS` may differ from the
            file's. Tiny test model: ``dict(input_patch_size=16, encoder_layers=1, encoder_embed_dim=32,
            encoder_ffn_embed_dim=64, encoder_attention_heads=2, conv_pos=16, conv_pos_groups=4,
            relative_position_embedding=True, num_buckets=32, max_distance=64, gru_rel_pos=True, deep_norm=True,
            finetuned_model=True, predictor_class=527)``.
        output: ``'embedding'``, ``'logits'`` or ``'probs'``.
        freeze: eval mode always (also under a parent's ``train()``), no gradients, forward under
            ``torch.no_grad()`` (spec sheets: BEATs is frozen in both methods).
        label_dict: the mids of the predictor's classes, for a model without ``pretrained`` (or to check the
            file's: they must be equal): ``{index: mid}``, a list of mids, or the path of AudioSet's
            ``class_labels_indices.csv`` (its mids in index order). Sets :attr:`label_mids`, which is otherwise
            the file's ``label_dict`` in index order, or None.
        init_cfg: mmengine init config.

    Shapes: ``forward(wave [N, L] float, 16 kHz, L >= 2800 samples for 16 fbank frames)`` -> ``[N, D]`` or
    ``[N, predictor_class]``.
    """

    def __init__(self,
                 pretrained: Optional[str] = None,
                 cfg: Optional[dict] = None,
                 output: str = 'embedding',
                 freeze: bool = True,
                 label_dict: Optional[Union[dict, list, str]] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if output not in ('embedding', 'logits', 'probs'):
            raise ValueError(f"BEATs: output must be 'embedding', 'logits' or 'probs', got {output!r}")
        if pretrained is None and cfg is None:
            raise ValueError('BEATs needs pretrained=<local BEATs .pt / converted file> or cfg=dict(...) (random '
                             'weights)')
        self.pretrained = pretrained
        self.output = output
        self.freeze = freeze
        source = f'BEATs({pretrained!r})' if pretrained is not None else 'BEATs'
        ckpt = load_beats_checkpoint(pretrained) if pretrained is not None else None
        self.cfg = resolve_beats_cfg(ckpt['cfg'] if ckpt else None, cfg, source)
        c = self.cfg

        self.fbank = KaldiFbank(preset='beats')
        self.patch_size = c['input_patch_size']
        self.patch_embedding = nn.Conv2d(1, c['embed_dim'], kernel_size=self.patch_size, stride=self.patch_size,
                                         bias=c['conv_bias'])
        self.layer_norm = nn.LayerNorm(c['embed_dim'])
        self.post_extract_proj = (nn.Linear(c['embed_dim'], c['encoder_embed_dim'])
                                  if c['embed_dim'] != c['encoder_embed_dim'] else None)
        self.dropout_input = nn.Dropout(c['dropout_input'])
        if c['deep_norm'] and c['layer_norm_first']:
            raise ValueError(f'{source}: deep_norm and layer_norm_first exclude each other')
        self.encoder = _TransformerEncoder(c)
        if c['finetuned_model']:
            self.predictor_dropout = nn.Dropout(c['predictor_dropout'])
            self.predictor = nn.Linear(c['encoder_embed_dim'], c['predictor_class'])
        else:
            self.predictor = None
            if output != 'embedding':
                raise ValueError(f'{source}: output={output!r} needs a fine-tuned model (finetuned_model=True, '
                                 'with the AudioSet predictor); this one is self-supervised only')
        self.embed_dims = c['encoder_embed_dim']
        self.num_classes = c['predictor_class'] if self.predictor is not None else None

        file_labels = ckpt.get('label_dict') if ckpt else None
        if isinstance(label_dict, (str, os.PathLike)):
            label_dict = [mid for mid, _ in read_class_labels_csv(label_dict)]
        mids = [_label_dict_to_mids(labels, c['predictor_class'], f'{source} ({what})')
                for labels, what in ((file_labels, 'file'), (label_dict, 'label_dict argument')) if labels is not None]
        if len(mids) == 2 and mids[0] != mids[1]:
            first = next(i for i, (a, b) in enumerate(zip(*mids)) if a != b)
            raise ValueError(f'{source}: the label_dict argument differs from the file\'s label_dict (class {first}: '
                             f'{mids[1][first]!r} given, {mids[0][first]!r} in the file)')
        self.label_mids: Optional[List[str]] = mids[0] if mids else None

        if ckpt is not None:
            self._load_state(ckpt['model'], source)
        if freeze:
            for param in self.parameters():
                param.requires_grad_(False)
            self.train(False)

    # ------------------------------------------------------------------ weights
    def _load_state(self, state: Dict[str, Tensor], source: str) -> None:
        expected = set(self.state_dict())
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        if missing or unexpected:
            raise KeyError(f'{source} does not match its cfg: missing keys {missing[:10]}'
                           f'{" ..." if len(missing) > 10 else ""}, unexpected keys {unexpected[:10]}'
                           f'{" ..." if len(unexpected) > 10 else ""}')
        tables = [k for k in state if k.endswith('self_attn.relative_attention_bias.weight')]
        if any(not torch.equal(state[k], state[tables[0]]) for k in tables[1:]):
            raise ValueError(f'{source}: the relative_attention_bias tables differ between layers; BEATs shares '
                             'one table across all layers')
        try:
            with torch.no_grad():
                self.load_state_dict(state, strict=False)
        except RuntimeError as err:
            raise RuntimeError(f'cannot load {source}: {err}') from None

    def init_weights(self) -> None:
        super().init_weights()
        # A parent's init_cfg may re-initialise these layers before this runs: reload the file afterwards.
        if self.pretrained is not None:
            self._load_state(load_beats_checkpoint(self.pretrained)['model'], f'BEATs({self.pretrained!r})')

    def train(self, mode: bool = True):
        super().train(mode and not self.freeze)
        return self

    # ------------------------------------------------------------------ forward
    def preprocess(self, wave: Tensor) -> Tensor:
        """``[N, L]`` 16 kHz waveforms in [-1, 1] -> normalised fbank ``[N, F, 128]``."""
        return self.fbank(wave)

    def extract_features(self, wave: Tensor) -> Tensor:
        """``[N, L]`` waveforms -> encoder tokens ``[N, P, encoder_embed_dim]`` (P = 48 for 1 s)."""
        fbank = self.preprocess(wave)
        if fbank.shape[1] < self.patch_size:
            raise ValueError(f'BEATs: {wave.shape[1]} samples give {fbank.shape[1]} fbank frames, fewer than one '
                             f'{self.patch_size}-frame patch')
        feats = self.patch_embedding(fbank.unsqueeze(1).to(self.patch_embedding.weight.dtype))
        feats = self.layer_norm(feats.flatten(2).transpose(1, 2))  # [N, P, embed_dim], time-major patches
        if self.post_extract_proj is not None:
            feats = self.post_extract_proj(feats)
        return self.encoder(self.dropout_input(feats))

    def _forward(self, wave: Tensor) -> Tensor:
        tokens = self.extract_features(wave)
        if self.output == 'embedding':
            return tokens.mean(dim=1)
        logits = self.predictor(self.predictor_dropout(tokens)).mean(dim=1)
        return logits if self.output == 'logits' else torch.sigmoid(logits)

    def forward(self, wave: Tensor) -> Tensor:
        """``[N, L]`` float 16 kHz waveforms -> ``[N, encoder_embed_dim]`` or ``[N, predictor_class]``."""
        if wave.dim() != 2 or not wave.is_floating_point():
            raise ValueError(f'BEATs expects float waveforms [N, L] at 16 kHz, got {wave.dtype} '
                             f'{list(wave.shape)}')
        if self.freeze:
            with torch.no_grad():
                return self._forward(wave)
        return self._forward(wave)
