from .audio_perturbed_dataset import AudioPerturbedDataset, category_derangement, clip_seed

__all__ = ['AudioPerturbedDataset', 'category_derangement', 'clip_seed']
