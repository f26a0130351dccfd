"""How much do models rely on the sound? Evaluate each model through ``tools/test.py`` with the real audio and
with each test-time audio perturbation, and write one table.

    python tools/analysis_tools/audio_robustness.py --model NAME CONFIG CHECKPOINT [--model NAME CONFIG CKPT ...]
        [--conditions none silence swap noise:20 noise:10 noise:0 offscreen] [--offscreen-audio PATH]
        [--offscreen-snr 0] [--work-dir DIR] [--reuse] [--cfg-options k=v ...]

Conditions (``tools/test.py --audio-perturb``, which wraps the test set in ``AudioPerturbedDataset``, seed 0):
``none`` (the real audio), ``silence``, ``swap`` (another clip's audio, of another category where possible),
``noise:SNR`` (white noise mixed in at SNR dB) and ``offscreen`` (one fixed sound whose source is not in the
picture, mixed in at ``--offscreen-snr`` dB into every clip: ``--offscreen-audio``, or by default a synthetic
chord over pink noise that is none of the synthetic categories' sounds, written to ``{work-dir}/offscreen.wav``).

Columns: the metric's main scores (``mJ`` / ``mF`` for binary models, ``mIoU`` / ``F`` for semantic ones), the
fraction of frames predicted empty, and, on the ``silence`` row, the false-positive rate on silent input: the
fraction of frames where the model still marks a sounding object although nothing sounds (1 - frames predicted
empty; every frame should be empty). Each run's log and metrics stay in
``{work-dir}/{model}/{condition}/``; ``--reuse`` reads the metrics of runs already there instead of running
them again. The table is printed and written to ``{work-dir}/audio_robustness.md`` and ``.json``.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TEST_TOOL = osp.join(REPO, 'tools', 'test.py')
DEFAULT_CONDITIONS = ('none', 'silence', 'swap', 'noise:20', 'noise:10', 'noise:0', 'offscreen')
#: Main scores per metric kind, in the order shown.
SCORE_KEYS = (('mJ', 'mF'), ('mIoU', 'F'))


def parse_condition(text: str) -> Tuple[str, Optional[float]]:
    """``'noise:10'`` -> ``('noise', 10.0)``; ``'silence'`` -> ``('silence', None)``."""
    kind, _, snr = text.partition(':')
    if kind not in ('none', 'silence', 'swap', 'noise', 'offscreen'):
        raise ValueError(f'unknown condition {text!r}; use none, silence, swap, noise:SNR or offscreen')
    if kind == 'noise':
        if not snr:
            raise ValueError(f'condition {text!r}: give the SNR in dB, e.g. noise:10')
        return kind, float(snr)
    if snr:
        raise ValueError(f'condition {text!r} takes no SNR' + (' (see --offscreen-snr)' if kind == 'offscreen' else ''))
    return kind, None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Scores of models under test-time audio perturbations, one table')
    parser.add_argument('--model', nargs=3, action='append', required=True, metavar=('NAME', 'CONFIG', 'CHECKPOINT'),
                        help='a model to evaluate (repeat for several)')
    parser.add_argument('--conditions', nargs='+', default=list(DEFAULT_CONDITIONS),
                        help=f'audio conditions (default: {" ".join(DEFAULT_CONDITIONS)})')
    parser.add_argument('--offscreen-audio', help='the fixed off-screen sound (default: a synthetic chord)')
    parser.add_argument('--offscreen-snr', type=float, default=0.0, help='SNR in dB of the off-screen sound (0)')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'audio_robustness'), help='where runs go')
    parser.add_argument('--reuse', action='store_true', help='reuse the metrics of runs already in --work-dir')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='passed to every tools/test.py run')
    args = parser.parse_args(argv)
    try:
        args.parsed_conditions = [parse_condition(c) for c in args.conditions]
    except ValueError as err:
        parser.error(str(err))
    names = [m[0] for m in args.model]
    if len(set(names)) != len(names):
        parser.error(f'model names must differ, got {names}')
    for name, config, ckpt in args.model:
        for what, path in (('config', config), ('checkpoint', ckpt)):
            if not osp.isfile(path):
                parser.error(f'--model {name}: {what} not found: {path}')
    if args.offscreen_audio and not osp.isfile(args.offscreen_audio):
        parser.error(f'--offscreen-audio: file not found: {args.offscreen_audio}')
    return args


def write_offscreen_sound(path: str, seconds: float = 10.0, sr: int = 16000, seed: int = 0) -> str:
    """A fixed off-screen sound: an A-minor chord (220, 261.6, 329.6 Hz and overtones) over pink noise, unlike
    every synthetic category's sound (a harmonic hum, noise bands, sweeps, tremolo, clicks, beeps)."""
    import soundfile as sf
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    chord = sum(np.sin(2 * np.pi * f * k * t) / k for f in (220.0, 261.63, 329.63) for k in (1, 2, 3))
    spectrum = np.fft.rfft(rng.standard_normal(len(t)))
    spectrum /= np.sqrt(np.maximum(np.fft.rfftfreq(len(t), 1 / sr), 1.0))  # 1/f power: pink
    pink = np.fft.irfft(spectrum, len(t))
    wave = chord / np.sqrt(np.mean(chord**2)) + 0.5 * pink / np.sqrt(np.mean(pink**2))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    sf.write(path, (0.1 * wave / np.sqrt(np.mean(wave**2))).astype(np.float32), sr, subtype='PCM_16')
    return path


def condition_name(kind: str, snr: Optional[float]) -> str:
    """Folder name of a run: ``none``, ``silence``, ``swap``, ``noise_10dB``, ``offscreen_0dB``."""
    return f'{kind}_{snr:g}dB' if snr is not None else kind


def condition_label(kind: str, snr: Optional[float]) -> str:
    """How the table names a condition."""
    labels = dict(none='real', silence='silenced', swap='swapped with another clip\'s')
    if kind in labels:
        return labels[kind]
    return f'{"white noise" if kind == "noise" else "off-screen sound"} at {snr:g} dB'


def test_command(config: str, checkpoint: str, work_dir: str, kind: str, snr: Optional[float],
                 offscreen_audio: Optional[str], offscreen_snr: float, cfg_options: Sequence[str]) -> List[str]:
    cmd = [sys.executable, TEST_TOOL, config, checkpoint, '--work-dir', work_dir, '--audio-perturb', kind]
    if kind == 'noise':
        cmd += ['--snr', f'{snr:g}']
    if kind == 'offscreen':
        cmd += ['--snr', f'{offscreen_snr:g}', '--offscreen-audio', offscreen_audio]
    if cfg_options:
        cmd += ['--cfg-options', *cfg_options]
    return cmd


def read_metrics(work_dir: str) -> Optional[Dict]:
    """The metrics of the last ``tools/test.py`` run in ``work_dir`` (mmengine's ``{timestamp}/{timestamp}.json``)."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.json')))
    for log in reversed(logs):
        with open(log) as f:
            lines = [line for line in f.read().splitlines() if line.strip()]
        if lines:
            return json.loads(lines[-1])
    return None


def score_keys(metrics: Dict) -> Tuple[str, str]:
    for keys in SCORE_KEYS:
        if all(k in metrics for k in keys):
            return keys
    raise KeyError(f'audio_robustness: the metrics {sorted(metrics)} hold neither mJ/mF nor mIoU/F')


def build_rows(results: Dict[str, Dict[str, Dict]]) -> List[Dict]:
    """One row per (model, condition) from ``{model: {condition label: metrics}}``; see the module docstring."""
    rows = []
    silenced = condition_label('silence', None)
    for model, runs in results.items():
        for condition, metrics in runs.items():
            j_key, f_key = score_keys(metrics)
            empty = float(metrics.get('empty_frac', math.nan))
            rows.append(dict(model=model, condition=condition, J_name=j_key, F_name=f_key, J=float(metrics[j_key]),
                             F=float(metrics[f_key]), empty_frac=empty,
                             silent_fp_rate=1.0 - empty if condition == silenced else None))
    return rows


def format_table(rows: List[Dict]) -> str:
    """Markdown table; the J / F columns are named after the metric (mJ / mF, or mIoU / F)."""
    j_names = sorted({r['J_name'] for r in rows})
    f_names = sorted({r['F_name'] for r in rows})
    header = ['model', 'audio', '/'.join(j_names), '/'.join(f_names), 'frames predicted empty',
              'false positives on silent input']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]

    def pct(x):
        return '' if x is None or math.isnan(x) else f'{100 * x:.1f}%'

    for r in rows:
        lines.append(f'| {r["model"]} | {r["condition"]} | {r["J"]:.3f} | {r["F"]:.3f} | {pct(r["empty_frac"])} | '
                     f'{pct(r["silent_fp_rate"])} |')
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    offscreen = args.offscreen_audio
    if any(kind == 'offscreen' for kind, _ in args.parsed_conditions) and offscreen is None:
        offscreen = write_offscreen_sound(osp.join(args.work_dir, 'offscreen.wav'))
    results: Dict[str, Dict[str, Dict]] = {}
    for name, config, ckpt in args.model:
        results[name] = {}
        for kind, snr in args.parsed_conditions:
            snr = args.offscreen_snr if kind == 'offscreen' else snr
            condition = condition_label(kind, snr)
            run_dir = osp.join(args.work_dir, name, condition_name(kind, snr))
            metrics = read_metrics(run_dir) if args.reuse else None
            if metrics is None:
                cmd = test_command(config, ckpt, run_dir, kind, snr, offscreen, args.offscreen_snr, args.cfg_options)
                print(f'audio_robustness: {name} / {condition}: {" ".join(cmd)}', flush=True)
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0:
                    raise SystemExit(f'audio_robustness: tools/test.py failed for {name} / {condition} '
                                     f'({proc.returncode}):\n{proc.stderr[-4000:]}')
                metrics = read_metrics(run_dir)
                if metrics is None:
                    raise SystemExit(f'audio_robustness: tools/test.py wrote no metrics under {run_dir}')
            results[name][condition] = metrics
    rows = build_rows(results)
    table = format_table(rows)
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'audio_robustness.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(args.work_dir, 'audio_robustness.json'), 'w') as f:
        json.dump(dict(rows=rows, offscreen_audio=offscreen, offscreen_snr=args.offscreen_snr), f, indent=1)
    print(table)
    return 0


if __name__ == '__main__':
    sys.exit(main())
