# AuTR PVT-v2-b5 open-set S4 (seed 002 Tab. 5): autr_r50_s4_openset.py (the same seeded 11 seen / 12 unseen split,
# subset csvs and deviation) with the frozen PVT-v2-b5. Paper: seen M_J 77.56 / M_F .865, unseen M_J 66.22 / M_F
# .777. Seen-category test: --cfg-options test_dataloader.dataset.ann_file=s4_open_set_seed0_seen.csv
_base_ = ['./autr_pvt_s4.py']
seen_categories = ('cap_gun_shooting', 'cat_meowing', 'chainsawing_trees', 'dog_barking', 'horse_clip-clop',
                   'lawn_mowing', 'playing_tabla', 'playing_ukulele', 'playing_violin', 'race_car',
                   'typing_on_computer_keyboard')
unseen_categories = ('ambulance_siren', 'baby_laughter', 'coyote_howling', 'driving_buses', 'female_singing',
                     'helicopter', 'lions_roaring', 'male_speech', 'mynah_bird_singing', 'playing_acoustic_guitar',
                     'playing_glockenspiel', 'playing_piano')
train_dataloader = dict(dataset=dict(ann_file='s4_open_set_seed0_seen.csv'))
val_dataloader = dict(dataset=dict(ann_file='s4_open_set_seed0_seen.csv'))
test_dataloader = dict(dataset=dict(ann_file='s4_open_set_seed0_unseen.csv'))
