# BAVS stage 2 on MS3 (test only, training-free; bavs.md §1.3-1.4, §6.3): the frozen Swin-B PSOS of
# bavs_psos_swin-b_ms3_stage1.py + the frozen AudioSet BEATs tagger (sigmoid over 527 tags, 1 s at 16 kHz per frame:
# frame t <-> second t, A6) + AVIS over the audio-visual tree. Output: the binary union of the sounding masks
# (AVSBinaryMetric).
# Files (none shipped, nothing downloaded):
#   - checkpoints/beats_as2m_cpt2.safetensors: BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt2.pt through
#     tools/model_converters/beats2avsseg.py
#     (docs/audio_taggers.md; A12: any AudioSet-527 tagger with mids may stand in, named in the results);
#   - data/audioset/class_labels_indices.csv: AudioSet's class_labels_indices.csv (the tagger's label_mids);
#   - configs/bavs/trees/avss_av_tree.json: built with tools/dataset_converters/build_av_tree.py from that csv (and
#     ontology.json) and
#     configs/bavs/trees/avss_curated_map.json (ours, not the paper's tree, which could not be obtained; docs/bavs.md).
# One checkpoint holds every weight:
#   python tools/model_converters/compose_two_stage.py --stage1 work_dirs/bavs_psos_swin-b_ms3_stage1/best_*.pth \
#       --tagger checkpoints/beats_as2m_cpt2.safetensors --config configs/bavs/bavs_avis_beats_swin-b_ms3.py \
#       -o checkpoints/bavs_swin-b_ms3.pth
#   python tools/test.py configs/bavs/bavs_avis_beats_swin-b_ms3.py checkpoints/bavs_swin-b_ms3.pth
#       [--audio-perturb noise --snr S | --audio-perturb offscreen --offscreen-audio CLIPPER.wav --snr S] (Table III)
# AVIS settings: the sheet's recommendations until a val sweep chooses (tag_thr 0.1, no top-k, sum: A2; t = 0.5:
# A4; direct pass then fallback, fallback consumes: A5). Tune on val only (test_dataloader.dataset.split=val).
_base_ = ['./bavs_psos_swin-b_ms3_stage1.py']
beats_file = 'checkpoints/beats_as2m_cpt2.safetensors'
audioset_csv = 'data/audioset/class_labels_indices.csv'
tree_file = 'configs/bavs/trees/avss_av_tree.json'
test_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipAnnotations'),
    dict(type='LoadClipWaveform'),  # raw 16 kHz windows for the tagger (the dataset's wav files)
    dict(type='ClipResize', scale=_base_.crop_size, keep_ratio=False, update_ori_shape=True),
    dict(type='PackAVSInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline, audio_source='wav'))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline, audio_source='wav'))
model = dict(
    type='BAVSSegmentor',
    audio_backbone=dict(
        _delete_=True, type='BEATs', pretrained=beats_file, label_dict=audioset_csv, output='probs', freeze=True),
    integrator=dict(
        type='AudioVisualSemanticIntegration',
        tree=tree_file,
        classes=_base_.avss_classes,
        tag_thr=0.1,
        topk=None,
        agg='sum',
        iou_thr=0.5,
        fallback=True,
        fallback_after_direct=True,
        consume_on_fallback=True),
    mode='avis')
# stage 2 is not trained (BAVSSegmentor.loss raises)
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
val_cfg = None
val_evaluator = None
