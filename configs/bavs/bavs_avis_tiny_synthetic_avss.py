# BAVS stage 2 (AVIS, training-free), tiny, on the synthetic AVSS set (bavs.md §6.5). Test only.
#
# The frozen tiny PSOS of bavs_psos_tiny_synthetic_avss_stage1.py + the frozen stand-in tagger of
# bavs_tagger_tiny_synthetic_avss.py (in place of BEATs; 9 tags) + AudioVisualSemanticIntegration over
# configs/bavs/trees/synthetic_av_tree.json. One checkpoint holds every weight:
#   python tools/model_converters/compose_two_stage.py --stage1 STAGE1.pth --tagger TAGGER.pth \
#       --config configs/bavs/bavs_avis_tiny_synthetic_avss.py -o bavs_tiny.pth
#   python tools/test.py configs/bavs/bavs_avis_tiny_synthetic_avss.py bavs_tiny.pth [--audio-perturb ...]
# AVIS settings, the sheet's recommendations: tag_thr 0.1, no top-k, sum aggregation (A2); two-phase filter t = 0.5
# (A4, the head filters with the same t); direct pass then fallback, fallback consumes (A5). Kept, as the recorded
# runs used them; the val sweep (tools/analysis_tools/sweep_avis.py, configs/bavs/README.md) chose tag_thr 0.2,
# top-3 and no fallback on this data. Output: the sounding masks painted with their visual labels (A7), scored by
# AVSSemanticMetric; PotentialInstanceMetric counts I (the two-phase-filtered potential instances).
_base_ = ['bavs_psos_tiny_synthetic_avss_stage1.py', '_base_/models/bavs_tagger_tiny_synthetic.py']
tree_file = 'configs/bavs/trees/synthetic_av_tree.json'
model = dict(
    type='BAVSSegmentor',
    audio_backbone=dict(_base_.tagger, output='probs', freeze=True, _delete_=True),
    integrator=dict(
        type='AudioVisualSemanticIntegration',
        tree=tree_file,
        classes=_base_.categories,
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
val_dataloader = None
val_cfg = None
val_evaluator = None
