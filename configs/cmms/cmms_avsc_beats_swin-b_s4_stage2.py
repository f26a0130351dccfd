# CMMS (seed 001) stage 2 (AVSC) on AVSBench S4, the paper's main setting (Table 1: S4 J 81.29 / F 88.59):
# the Swin-B PSOS of stage 1 (frozen, online) and a frozen AudioSet BEATs.
# Stage 1: cmms_psos_swin-b-coco_s4_stage1.py (Swin-B PSOS, K = 23, started from a COCO Mask2Former [P] converted
# by tools/model_converters/mask2former2avsseg.py, docs/psos.md); copy its best val checkpoint to `stage1_checkpoint`.
# Audio [P]: 1 s at 16 kHz per frame (LoadClipWaveform) -> BEATs' fbank [98, 128] -> BEATs -> mean-pooled [N, 768].
# The checkpoint is unstated; recommended (A9): BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt2.pt (its 527-way head
# unused, output='embedding'), frozen. Place it as below (docs/audio_taggers.md).
# AVSC: MLP 768 -> 512 -> 23, per-category sigmoid (A3), Eq. 1 sum, L_avc. Adam lr 1e-3, batch 64 [P] (64 clips'
# labelled frame), about 20 epochs (1080 iterations, a guess [R]), validation every epoch, best val mJ kept.
_base_ = ['./cmms_avsc_vggish_r50_s4_stage2.py']
loading = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipAnnotations'),
    dict(type='LoadClipWaveform'),
]
train_pipeline = [
    *loading,
    dict(type='ClipSelectLabelledFrames'),
    dict(type='ClipResize', scale=_base_.crop_size, keep_ratio=False),
    dict(type='PackAVSInputs'),
]
test_pipeline = [*loading, _base_.test_resize, dict(type='PackAVSInputs')]
total_batch_size = 64
train_dataloader = dict(batch_size=total_batch_size, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
swin_b_channels = [128, 256, 512, 1024]
model = dict(
    stage1_checkpoint='checkpoints/cmms_psos_swin-b-coco_s4_stage1.pth',
    backbone=dict(
        _delete_=True,
        type='mmdet.SwinTransformer',  # as ../_base_/models/psos_swin-b.py, weights from stage1_checkpoint
        pretrain_img_size=384,
        embed_dims=128,
        depths=[2, 2, 18, 2],
        num_heads=[4, 8, 16, 32],
        window_size=12,
        mlp_ratio=4,
        qkv_bias=True,
        qk_scale=None,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.3,  # inactive: the frozen stage 1 stays in eval mode
        patch_norm=True,
        out_indices=(0, 1, 2, 3),
        with_cp=False,
        convert_weights=False,
        frozen_stages=-1,
        init_cfg=None),
    decode_head=dict(in_channels=swin_b_channels),
    audio_backbone=dict(
        _delete_=True, type='BEATs', pretrained='pretrained/BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt2.pt',
        output='embedding', freeze=True),
    avsc_head=dict(in_channels=768))
iters_per_epoch = 54  # ceil(3452 / 64)
max_iters = 20 * iters_per_epoch
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=iters_per_epoch)
default_hooks = dict(checkpoint=dict(interval=iters_per_epoch))
