import math

import pytest
import torch

from avsseg.models.utils.positional_encoding import sine_positional_encoding_1d


def test_hand_values():
    # channels 4: dim_t = [1, 1, 100, 100]; positions normalised by the count of real tokens, times 2 pi
    pad = torch.tensor([[False, False, True]])
    pos = sine_positional_encoding_1d(pad, 4)
    assert pos.shape == (1, 3, 4)
    x = torch.tensor([1.0, 2.0, 2.0]) / (2 + 1e-6) * 2 * math.pi
    expected = torch.stack([x.sin(), x.cos(), (x / 100).sin(), (x / 100).cos()], dim=1)
    torch.testing.assert_close(pos[0], expected)
    # the padded tail does not move the real tokens' positions
    torch.testing.assert_close(sine_positional_encoding_1d(pad[:, :2], 4)[0], expected[:2])


def test_errors():
    with pytest.raises(ValueError, match='must be even'):
        sine_positional_encoding_1d(torch.zeros(1, 2, dtype=torch.bool), 3)
    with pytest.raises(ValueError, match=r'must be \[B, L\]'):
        sine_positional_encoding_1d(torch.zeros(2, dtype=torch.bool), 4)
