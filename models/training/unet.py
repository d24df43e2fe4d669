"""A small improved-diffusion U-Net (Nichol & Dhariwal 2021) for mask diffusion.

Input: the MR sequences concatenated with the noisy mask (C_seq + 1 channels).
Output: 2 channels: predicted noise (eps) and the learned-range variance interpolation value v in [-1, 1].
Residual blocks with timestep embedding (scale-shift norm), GroupNorm, self-attention at low resolution.
Written to export cleanly to ONNX with dynamic batch, height and width (multiples of 2**levels).
"""
import math

import torch
from torch import nn
import torch.nn.functional as F


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of (float) timesteps, as in improved-diffusion."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels)


def zero(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        p.detach().zero_()
    return module


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb_dim: int, dropout: float):
        super().__init__()
        self.in_layers = nn.Sequential(norm(cin), nn.SiLU(), nn.Conv2d(cin, cout, 3, padding=1))
        self.emb = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, 2 * cout))
        self.out_norm = norm(cout)
        self.out_layers = nn.Sequential(nn.SiLU(), nn.Dropout(dropout), zero(nn.Conv2d(cout, cout, 3, padding=1)))
        self.skip = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x, emb):
        h = self.in_layers(x)
        scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.out_norm(h) * (1 + scale) + shift
        return self.skip(x) + self.out_layers(h)


class Attention(nn.Module):
    def __init__(self, channels: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm = norm(channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.proj = zero(nn.Conv1d(channels, channels, 1))

    def forward(self, x):
        b, c, h, w = x.shape
        qkv = self.qkv(self.norm(x).reshape(b, c, -1))
        q, k, v = qkv.reshape(b * self.heads, 3 * c // self.heads, -1).chunk(3, dim=1)
        scale = 1.0 / math.sqrt(math.sqrt(c // self.heads))
        weight = torch.softmax(torch.einsum("bct,bcs->bts", q * scale, k * scale), dim=-1)
        out = torch.einsum("bts,bcs->bct", weight, v).reshape(b, c, -1)
        return x + self.proj(out).reshape(b, c, h, w)


class UNet(nn.Module):
    def __init__(self, in_channels: int, model_channels: int = 32, channel_mult=(1, 2, 2, 4),
                 num_res_blocks: int = 1, attention_levels=(2, 3), heads: int = 4, dropout: float = 0.0):
        super().__init__()
        self.config = dict(in_channels=in_channels, model_channels=model_channels, channel_mult=list(channel_mult),
                           num_res_blocks=num_res_blocks, attention_levels=list(attention_levels), heads=heads,
                           dropout=dropout)
        self.model_channels = model_channels
        emb_dim = 4 * model_channels
        self.time_embed = nn.Sequential(nn.Linear(model_channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.input_conv = nn.Conv2d(in_channels, model_channels, 3, padding=1)

        self.down = nn.ModuleList()
        skip_channels = [model_channels]
        ch = model_channels
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                blocks = nn.ModuleList([ResBlock(ch, mult * model_channels, emb_dim, dropout)])
                ch = mult * model_channels
                if level in attention_levels:
                    blocks.append(Attention(ch, heads))
                self.down.append(blocks)
                skip_channels.append(ch)
            if level != len(channel_mult) - 1:
                self.down.append(nn.ModuleList([nn.Conv2d(ch, ch, 3, stride=2, padding=1)]))
                skip_channels.append(ch)

        self.middle = nn.ModuleList([ResBlock(ch, ch, emb_dim, dropout), Attention(ch, heads),
                                     ResBlock(ch, ch, emb_dim, dropout)])

        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(channel_mult))):
            for i in range(num_res_blocks + 1):
                blocks = nn.ModuleList([ResBlock(ch + skip_channels.pop(), mult * model_channels, emb_dim, dropout)])
                ch = mult * model_channels
                if level in attention_levels:
                    blocks.append(Attention(ch, heads))
                if level and i == num_res_blocks:
                    blocks.append(nn.Upsample(scale_factor=2, mode="nearest"))
                    blocks.append(nn.Conv2d(ch, ch, 3, padding=1))
                self.up.append(blocks)

        self.out = nn.Sequential(norm(ch), nn.SiLU(), zero(nn.Conv2d(ch, 2, 3, padding=1)))

    @staticmethod
    def _run_blocks(blocks, h, emb):
        for layer in blocks:
            h = layer(h, emb) if isinstance(layer, ResBlock) else layer(h)
        return h

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.time_embed(timestep_embedding(t, self.model_channels))
        h = self.input_conv(x)
        skips = [h]
        for blocks in self.down:
            h = self._run_blocks(blocks, h, emb)
            skips.append(h)
        h = self._run_blocks(self.middle, h, emb)
        for blocks in self.up:
            h = self._run_blocks(blocks, torch.cat([h, skips.pop()], dim=1), emb)
        return self.out(h)
