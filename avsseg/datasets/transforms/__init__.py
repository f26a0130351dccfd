from .formatting import PackAVSInputs, avs_collate

__all__ = ['PackAVSInputs', 'avs_collate']
