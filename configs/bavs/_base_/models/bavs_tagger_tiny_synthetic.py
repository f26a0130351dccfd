# The stand-in tagger of the BAVS tiny smoke test (bavs.md §6.5 "stage 0"; not part of BAVS, whose tagger is an
# off-the-shelf AudioSet BEATs): shared by its training config (bavs_tagger_tiny_synthetic_avss.py) and the stage-2
# configs that load it frozen as the audio_backbone (bavs_avis_tiny_synthetic_avss.py), so both build the same
# module. Kaldi log-mel (64 bands, 25/10 ms, Hann; normalised with the train audio's mean -9.9 / std 5.5) ->
# LogMelCNN (16/32/64 ch) -> Linear(128, 9): the 9 tags of configs/bavs/trees/synthetic_tags.csv (8 category
# sounds + white noise), keyed by mid like AudioSet's.
tagger = dict(
    type='LogMelTagger',
    label_csv='configs/bavs/trees/synthetic_tags.csv',
    front_end=dict(type='KaldiFbank', num_mel_bins=64, frame_length=25.0, frame_shift=10.0, window_type='hanning',
                   waveform_scale=1.0, mean=-9.9, std=5.5, max_length=None),
    encoder=dict(type='LogMelCNN', channels=(16, 32, 64), out_channels=128),
    output='probs')
