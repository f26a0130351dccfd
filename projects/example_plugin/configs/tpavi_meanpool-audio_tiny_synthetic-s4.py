# The README quickstart TPAVI (configs/tpavi/tpavi_tiny_synthetic_s4.py: synthetic S4 in data/synthetic_s4, 96x96
# frames, 1800 iterations) with its audio backbone replaced by the plugin's MeanPoolAudioEncoder, whose 128-dim
# output is the width the quickstart's TPAVI neck takes.
# `custom_imports` imports the plugin package when the config is read, which registers MeanPoolAudioEncoder in
# avsseg's MODELS registry; `projects/example_plugin` must be importable (PYTHONPATH or `pip install -e`).
_base_ = ['../../../configs/tpavi/tpavi_tiny_synthetic_s4.py']

custom_imports = dict(imports=['avsseg_example_plugin'], allow_failed_imports=False)

model = dict(
    audio_backbone=dict(
        _delete_=True, type='MeanPoolAudioEncoder', num_mel_bins=64, hidden_channels=64, out_channels=128))
