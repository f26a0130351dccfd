import pytest
import torch
import torchaudio.functional as ta_F

from avsseg.models.audio_backbones import HFAudioEncoder
from avsseg.registry import MODELS

WAV2VEC2 = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, conv_dim=(16, 16),
                conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
# 2 s chunks (the released models: 30 s), so a 1 s window leaves padding that the mean must skip.
WHISPER = dict(d_model=32, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=64, decoder_layers=1,
               decoder_attention_heads=2, decoder_ffn_dim=64, num_mel_bins=80, max_source_positions=100,
               max_target_positions=8)
CLAP = dict(hidden_size=32, depths=[1, 1], num_attention_heads=[1, 2], patch_embeds_hidden_size=16, projection_dim=16,
            num_hidden_layers=2)


def _waves(n=3, seed=0):
    return 0.2 * torch.randn(n, 16000, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize('model_type', ['wav2vec2', 'hubert'])
def test_wav2vec2_and_hubert_mean_of_last_hidden_state(model_type):
    from transformers import Wav2Vec2FeatureExtractor
    torch.manual_seed(0)
    enc = MODELS.build(dict(type='HFAudioEncoder', config=WAV2VEC2, model_type=model_type,
                            feature_extractor=dict(type='Wav2Vec2FeatureExtractor', do_normalize=True)))
    wave = _waves()
    inputs = Wav2Vec2FeatureExtractor(do_normalize=True)(list(wave.numpy()), sampling_rate=16000, return_tensors='pt')
    with torch.no_grad():
        ref = enc.model(**inputs).last_hidden_state.mean(dim=1)
    out = enc(wave)
    assert out.shape == (3, 32) and enc.out_channels == 32
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    assert type(enc.model).__name__ == {'wav2vec2': 'Wav2Vec2Model', 'hubert': 'HubertModel'}[model_type]


def test_whisper_encoder_only_and_mean_over_the_real_audio():
    from transformers import WhisperFeatureExtractor
    torch.manual_seed(0)
    enc = HFAudioEncoder(config=WHISPER, model_type='whisper',
                         feature_extractor=dict(type='WhisperFeatureExtractor', chunk_length=2))
    assert type(enc.model).__name__ == 'WhisperEncoder'  # the decoder is dropped
    assert not any('decoder' in k for k in enc.state_dict())
    wave = _waves()
    feats = WhisperFeatureExtractor(chunk_length=2)(list(wave.numpy()), sampling_rate=16000, return_tensors='pt')
    with torch.no_grad():
        hidden = enc.model(feats['input_features']).last_hidden_state
    assert hidden.shape[1] == 100 and enc._real_steps(16000, 100) == 50  # 1 s of 2 s: 50 steps
    out = enc(wave)
    torch.testing.assert_close(out, hidden[:, :50].mean(dim=1), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(out, hidden.mean(dim=1), atol=1e-4)


def test_clap_audio_tower_at_48k():
    from transformers import ClapFeatureExtractor
    torch.manual_seed(0)
    fe_cfg = dict(type='ClapFeatureExtractor', truncation='rand_trunc', padding='repeatpad')
    enc = HFAudioEncoder(config=CLAP, hf_class='ClapAudioModelWithProjection', pooling='audio_embeds',
                         feature_extractor=fe_cfg)
    wave = _waves(2)
    wave48 = ta_F.resample(wave, 16000, 48000)
    inputs = ClapFeatureExtractor(truncation='rand_trunc', padding='repeatpad')(
        list(wave48.numpy()), sampling_rate=48000, return_tensors='pt')
    assert inputs['input_features'].shape == (2, 1, 1001, 64)
    with torch.no_grad():
        ref = enc.model(**inputs).audio_embeds
    out = enc(wave)
    assert out.shape == (2, 16) and enc.out_channels == 16
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)


def test_save_pretrained_and_reload_without_network(tmp_path, monkeypatch):
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    torch.manual_seed(1)
    Wav2Vec2Model(Wav2Vec2Config(**WAV2VEC2)).save_pretrained(tmp_path / 'w2v')
    Wav2Vec2FeatureExtractor(do_normalize=True).save_pretrained(tmp_path / 'w2v')
    enc = HFAudioEncoder(pretrained=str(tmp_path / 'w2v'))
    ref_model = Wav2Vec2Model.from_pretrained(tmp_path / 'w2v', local_files_only=True).eval()
    wave = _waves(2)
    inputs = Wav2Vec2FeatureExtractor(do_normalize=True)(list(wave.numpy()), sampling_rate=16000, return_tensors='pt')
    with torch.no_grad():
        ref = ref_model(**inputs).last_hidden_state.mean(dim=1)
    torch.testing.assert_close(enc(wave), ref, rtol=1e-5, atol=1e-6)
    # frozen: eval even inside a training model, no gradients, weights kept by init_weights
    assert not any(p.requires_grad for p in enc.parameters())
    assert not enc.train().model.training
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    enc.init_weights()
    assert all(torch.equal(before[k], v) for k, v in enc.state_dict().items())
    with pytest.raises(FileNotFoundError, match=r"pretrained folder not found: '.*hubert-base'"):
        HFAudioEncoder(pretrained=str(tmp_path / 'hubert-base'))


def test_trainable_and_errors():
    torch.manual_seed(0)
    fe = dict(type='Wav2Vec2FeatureExtractor')
    enc = HFAudioEncoder(config=WAV2VEC2, model_type='wav2vec2', feature_extractor=fe, freeze=False).train()
    enc(_waves(2)).sum().backward()
    assert enc.model.encoder.layers[0].attention.q_proj.weight.grad is not None
    with pytest.raises(ValueError, match='needs a feature extractor'):
        HFAudioEncoder(config=WAV2VEC2, model_type='wav2vec2')
    with pytest.raises(ValueError, match='building AutoModel from config needs model_type'):
        HFAudioEncoder(config=WAV2VEC2, feature_extractor=fe)
    with pytest.raises(ValueError, match="has no 'audio_embeds'"):
        HFAudioEncoder(config=WAV2VEC2, model_type='wav2vec2', feature_extractor=fe, pooling='audio_embeds')(_waves(1))
    with pytest.raises(ValueError, match=r'takes float waveforms \[N, L\]'):
        enc(torch.zeros(2, 1, 96, 64))
    with pytest.raises(ValueError, match="no class 'NoSuchExtractor'"):
        HFAudioEncoder(config=WAV2VEC2, model_type='wav2vec2', feature_extractor=dict(type='NoSuchExtractor'))


def test_clap_audio_tower_from_a_full_clap_folder(tmp_path, monkeypatch):
    """The released CLAP folders (laion/clap-htsat-*) hold the whole ClapModel; the audio tower loads from it, and
    l2_normalize=True gives ClapModel.get_audio_features."""
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    torch.manual_seed(2)
    text = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, vocab_size=100)
    full = ClapModel(ClapConfig(audio_config={k: v for k, v in CLAP.items() if k != 'projection_dim'},
                                text_config=text, projection_dim=16)).eval()
    full.save_pretrained(tmp_path / 'clap')
    ClapFeatureExtractor(truncation='rand_trunc').save_pretrained(tmp_path / 'clap')
    enc = HFAudioEncoder(pretrained=str(tmp_path / 'clap'), hf_class='ClapAudioModelWithProjection',
                         pooling='audio_embeds', l2_normalize=True)
    wave = _waves(2)
    inputs = ClapFeatureExtractor(truncation='rand_trunc')(list(ta_F.resample(wave, 16000, 48000).numpy()),
                                                           sampling_rate=48000, return_tensors='pt')
    with torch.no_grad():
        ref = full.get_audio_features(**inputs)
    ref = ref if torch.is_tensor(ref) else ref.pooler_output
    out = enc(wave)
    assert out.shape == (2, 16)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
