import csv

import pytest
import torch

from avsseg.models.audio_backbones import HFAudioTagger
from avsseg.models.audio_backbones.audioset_labels import label_mids_from_csv, read_class_labels_csv
from avsseg.registry import MODELS

NUM_LABELS = 6
# seed001.md 6.4's tiny AST, with fewer labels: 98 frames x 128 mel -> 12 x 9 patches + 2 tokens.
TINY_AST = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, num_mel_bins=128,
                max_length=98, patch_size=16, frequency_stride=10, time_stride=10, num_labels=NUM_LABELS)
NAMES = ['Speech', 'Male speech, man speaking', 'Dog', 'Bark', 'Music', 'Siren']
MIDS = ['/m/09x0r', '/m/05zppz', '/m/0bt9lr', '/m/05tny_', '/m/04rlf', '/m/03kmc9']


def _config(**kw):
    return dict(TINY_AST, id2label={i: n for i, n in enumerate(NAMES)}, label2id={n: i for i, n in enumerate(NAMES)},
                **kw)


def _write_csv(path, rows):
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['index', 'mid', 'display_name'])
        writer.writerows(rows)
    return str(path)


def _waves(n=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return 0.2 * torch.randn(n, 16000, generator=gen)


@pytest.fixture(scope='module')
def saved_ast(tmp_path_factory):
    """A tiny random AST and its feature extractor saved as a local folder, as docs/audio_taggers.md describes."""
    from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification
    torch.manual_seed(0)
    model = ASTForAudioClassification(ASTConfig(**_config())).eval()
    folder = tmp_path_factory.mktemp('ast')
    model.save_pretrained(folder)
    ASTFeatureExtractor(max_length=98).save_pretrained(folder)
    return str(folder), model


@pytest.mark.parametrize('output', ['embedding', 'logits', 'probs'])
def test_outputs_equal_transformers_model_through_its_feature_extractor(saved_ast, output, monkeypatch):
    from transformers import ASTFeatureExtractor
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    folder, model = saved_ast
    tagger = MODELS.build(dict(type='HFAudioTagger', pretrained=folder, output=output))
    wave = _waves()
    inputs = ASTFeatureExtractor.from_pretrained(folder, local_files_only=True)(
        list(wave.numpy()), sampling_rate=16000, return_tensors='pt')
    with torch.no_grad():
        ref = model(**inputs, output_hidden_states=True)
    out = tagger(wave)
    if output == 'embedding':
        hidden = ref.hidden_states[-1]
        pooled = (model.audio_spectrogram_transformer.layernorm(hidden)[:, 0] +
                  model.audio_spectrogram_transformer.layernorm(hidden)[:, 1]) / 2  # AST's pooler
        assert out.shape == (3, 32) and tagger.out_channels == 32
        torch.testing.assert_close(out, pooled, rtol=1e-4, atol=1e-5)
    else:
        expected = ref.logits if output == 'logits' else ref.logits.sigmoid()
        assert out.shape == (3, NUM_LABELS) and tagger.out_channels == NUM_LABELS
        torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
    assert tagger.label_names == NAMES


def test_frozen_by_default_and_init_weights_keeps_weights(saved_ast):
    folder, model = saved_ast
    tagger = HFAudioTagger(pretrained=folder, output='logits')
    assert not any(p.requires_grad for p in tagger.parameters())
    tagger.train()
    assert not tagger.model.training  # stays in eval (dropout off) inside a training model
    before = {k: v.clone() for k, v in tagger.state_dict().items()}
    tagger.init_weights()  # the runner calls it; it must not re-draw the loaded weights
    after = tagger.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    wave = _waves(2)
    assert not tagger(wave).requires_grad

    trainable = HFAudioTagger(config=_config(), output='embedding', freeze=False).train()
    assert trainable.model.training
    trainable(wave).sum().backward()
    assert trainable.model.classifier.dense.weight.grad is None  # the head is not used for embeddings
    assert trainable.model.audio_spectrogram_transformer.embeddings.patch_embeddings.projection.weight.grad is not None


def test_config_build_and_consistency_with_folder(saved_ast):
    folder, _ = saved_ast
    tagger = HFAudioTagger(config=_config())
    assert tagger.front_end.max_length == 98 and tagger.front_end.preset == 'ast'
    assert tagger(_waves(2)).shape == (2, NUM_LABELS)
    HFAudioTagger(pretrained=folder, config=dict(hidden_size=32, num_labels=NUM_LABELS))  # agrees
    with pytest.raises(ValueError, match=r"\['hidden_size'\] differ from"):
        HFAudioTagger(pretrained=folder, config=dict(hidden_size=64))


def test_label_mids_from_csv(saved_ast, tmp_path):
    folder, _ = saved_ast
    good = _write_csv(tmp_path / 'labels.csv', [(i, m, n) for i, (m, n) in enumerate(zip(MIDS, NAMES))])
    tagger = HFAudioTagger(pretrained=folder, class_labels_csv=good)
    assert tagger.label_mids == MIDS
    assert tagger.label_index['/m/0bt9lr'] == 2
    assert read_class_labels_csv(good)[1] == ('/m/05zppz', 'Male speech, man speaking')  # quoted comma kept

    swapped_names = NAMES[:2] + [NAMES[3], NAMES[2]] + NAMES[4:]
    swapped = _write_csv(tmp_path / 'swapped.csv', [(i, m, n) for i, (m, n) in enumerate(zip(MIDS, swapped_names))])
    with pytest.raises(ValueError, match=r"order differs .* output 2 'Dog' is csv index 3"):
        HFAudioTagger(pretrained=folder, class_labels_csv=swapped)
    renamed = _write_csv(tmp_path / 'renamed.csv',
                         [(i, m, n) for i, (m, n) in enumerate(zip(MIDS, NAMES[:5] + ['Ambulance (siren)']))])
    with pytest.raises(ValueError, match=r"not display names of .*renamed.csv: \['Siren'\]"):
        HFAudioTagger(pretrained=folder, class_labels_csv=renamed)
    with pytest.raises(ValueError, match='has 6 labels but .* has 5'):
        label_mids_from_csv(NAMES, _write_csv(tmp_path / 'short.csv', [(i, MIDS[i], NAMES[i]) for i in range(5)]))
    with pytest.raises(ValueError, match='index .3., expected 2'):
        read_class_labels_csv(_write_csv(tmp_path / 'gap.csv', [(0, 'a', 'A'), (1, 'b', 'B'), (3, 'c', 'C')]))
    with pytest.raises(FileNotFoundError, match='class label csv not found'):
        HFAudioTagger(pretrained=folder, class_labels_csv=str(tmp_path / 'nope.csv'))


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"pretrained folder not found: '.*missing_ast'"):
        HFAudioTagger(pretrained=str(tmp_path / 'missing_ast'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='has no config.json'):
        HFAudioTagger(pretrained=str(tmp_path / 'empty'))
    with pytest.raises(ValueError, match='not a URL'):
        HFAudioTagger(pretrained='https://huggingface.co/MIT/ast-finetuned-audioset-10-10-0.4593')
    with pytest.raises(ValueError, match='needs pretrained .* or config'):
        HFAudioTagger()
    with pytest.raises(ValueError, match="output must be one of"):
        HFAudioTagger(config=_config(), output='tokens')
    tagger = HFAudioTagger(config=_config())
    with pytest.raises(ValueError, match=r'VGGish log-mel from LoadClipAudio'):
        tagger(torch.zeros(2, 1, 96, 64))


def test_in_an_audio_visual_segmentor_on_waveform_windows():
    """The segmentor passes inputs['audio'] [B*T, 16000] to the tagger; padded frames' features are zeroed; the
    frozen tagger gets no gradient while the rest of the model trains."""
    from mmengine.registry import init_default_scope

    from avsseg.testing import demo_clip_inputs, get_config, tiny_model_cfg
    init_default_scope('avsseg')
    torch.manual_seed(0)
    cfg = tiny_model_cfg(get_config('_base_/models/tpavi_r50.py').model)
    cfg.audio_backbone = dict(type='HFAudioTagger', config=_config(), output='embedding')
    cfg.neck.audio_channels = 32
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    data = demo_clip_inputs(data_preprocessor=model.data_preprocessor, training=True, num_frames=3, size=64,
                            labeled=[[True, False, False], [True, True, False]],
                            padded=[[False, False, False], [False, False, True]], audio_shape=(16000, ))
    assert data['inputs']['audio'].shape == (6, 16000)
    audio = model.extract_audio_feat(data['inputs']['audio'], [s.metainfo for s in data['data_samples']])
    assert audio.shape == (6, 32) and not audio[5].any() and audio[:5].abs().sum(dim=1).gt(0).all()
    torch.testing.assert_close(audio[:5], model.audio_backbone(data['inputs']['audio'][:5]))
    losses = model(**data, mode='loss')
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is None for p in model.audio_backbone.parameters())
    assert model.neck.tpavi_blocks['0'].out_norm.weight.grad.abs().sum() > 0


def test_other_audio_classifiers_through_their_feature_extractor():
    """Any AutoModelForAudioClassification: wav2vec2 for sequence classification, embeddings = its classifier input."""
    from transformers import Wav2Vec2FeatureExtractor
    torch.manual_seed(0)
    w2v = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, conv_dim=(16, 16),
               conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
               classifier_proj_size=24, num_labels=4)
    fe = dict(type='Wav2Vec2FeatureExtractor', do_normalize=True)
    logits = HFAudioTagger(config=w2v, model_type='wav2vec2', feature_extractor=fe, output='logits')
    wave = _waves(2)
    inputs = Wav2Vec2FeatureExtractor(do_normalize=True)(list(wave.numpy()), sampling_rate=16000, return_tensors='pt')
    with torch.no_grad():
        ref = logits.model(**inputs, output_hidden_states=True)
    torch.testing.assert_close(logits(wave), ref.logits, rtol=1e-5, atol=1e-6)
    emb = HFAudioTagger(config=w2v, model_type='wav2vec2', feature_extractor=fe, output='embedding')
    emb.model.load_state_dict(logits.model.state_dict())
    pooled = logits.model.projector(ref.hidden_states[-1]).mean(dim=1)  # Wav2Vec2ForSequenceClassification pooling
    out = emb(wave)
    assert out.shape == (2, 24) and emb.out_channels == 24
    torch.testing.assert_close(out, pooled, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='needs a feature extractor'):
        HFAudioTagger(config=w2v, model_type='wav2vec2')
    with pytest.raises(ValueError, match='front end is for 16000 Hz but sample_rate is 8000'):
        HFAudioTagger(config=_config(), sample_rate=8000)
