"""Start a wider U-Net (twice the base channels) from a trained one, computing the same function (Net2WiderNet).

Why: the 16-channel net plateaued on the CPU; a 32-channel net from scratch would spend the session re-learning
what the small one knows. Widened, the large net starts where the small one ends, so whatever it gains over the
following iterations is what the extra capacity buys.

How: every doubled channel axis holds each old channel twice, new channel j = old channel j // 2. This order
keeps GroupNorm exact (min(8, C) groups: new group g holds old group g's channels, each twice, so its mean and
variance are unchanged) and holds for concatenated skips too. A layer reading a doubled axis gets half the old
weight on each copy, so its output is unchanged. Two places need more than that:
- the sinusoidal timestep features: the wide net's frequencies at even indices are the narrow net's, so those
  inputs take the old weights and the others 0;
- attention: q.k sums over each copy twice and the scale shrinks by sqrt(2), so q is divided by sqrt(2).
The copies would then get identical gradients forever: a little noise breaks the tie.
"""
import math

import torch

from unet import UNet


def _sinusoid_columns(old_dim: int, new_dim: int) -> torch.Tensor:
    """For each input of the wide net's first time-embedding layer, the narrow net's input at the same frequency
    (cos then sin halves), or -1 where the narrow net has no such frequency."""
    old_half, new_half = old_dim // 2, new_dim // 2
    ratio = new_half // old_half
    cols = torch.full((new_dim,), -1, dtype=torch.long)
    for j in range(new_half):
        if j % ratio == 0:
            cols[j], cols[new_half + j] = j // ratio, old_half + j // ratio
    return cols


def _widen_tensor(old: torch.Tensor, shape: torch.Size, reads_channels: bool) -> torch.Tensor:
    """Repeat each channel of every doubled axis; halve the weight on a doubled input axis (axis 1 of a weight)."""
    out = old
    for axis, (n_old, n_new) in enumerate(zip(old.shape, shape)):
        if n_new == n_old:
            continue
        if n_new != 2 * n_old:
            raise ValueError(f"axis {axis} goes from {n_old} to {n_new}: only doubling is supported")
        out = out.index_select(axis, torch.arange(n_new) // 2)
        if axis == 1 and reads_channels:
            out = out / 2
    return out


@torch.no_grad()
def widen(source: UNet, noise: float = 1e-3, seed: int = 0) -> UNet:
    """A UNet with twice source's base channels that computes what source does (up to `noise`, relative to each
    tensor's spread, which breaks the symmetry between the copies)."""
    config = {**source.config, "model_channels": 2 * source.config["model_channels"]}
    wide = UNet(**config)
    old_state, new_state = source.state_dict(), wide.state_dict()
    gen = torch.Generator().manual_seed(seed)
    for name, target in new_state.items():
        old = old_state[name]
        if name == "time_embed.0.weight":  # inputs are sinusoid frequencies, not channels
            cols = _sinusoid_columns(old.shape[1], target.shape[1])
            value = torch.zeros(target.shape)
            rows = _widen_tensor(old, torch.Size([target.shape[0], old.shape[1]]), reads_channels=False)
            value[:, cols >= 0] = rows[:, cols[cols >= 0]]
        else:
            value = _widen_tensor(old, target.shape, reads_channels=name.endswith("weight") and old.dim() >= 2)
        if name.endswith("qkv.weight") or name.endswith("qkv.bias"):
            value = value.clone()
            per_head = value.shape[0] // config["heads"]  # [q, k, v] rows of each head
            for h in range(config["heads"]):
                value[h * per_head:h * per_head + per_head // 3] /= math.sqrt(2)
        if noise and value.dim() >= 2 and value.std() > 0:
            value = value + torch.randn(value.shape, generator=gen) * value.std() * noise
        new_state[name] = value
    wide.load_state_dict(new_state)
    return wide
