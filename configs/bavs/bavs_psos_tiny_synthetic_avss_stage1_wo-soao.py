# Table V "w/o SOAO" on the tiny synthetic AVSS stage 1: neither L_cls nor L_ins (plain Mask2Former losses);
# otherwise bavs_psos_tiny_synthetic_avss_stage1.py. Compose it with the tagger and test it with
# bavs_avis_tiny_synthetic_avss.py to compare I (potential instances) and mIoU with the SOAO model.
_base_ = ['./bavs_psos_tiny_synthetic_avss_stage1.py']
model = dict(decode_head=dict(loss_soas=None, silent_exclusion=False))
