"""Golden vectors for the TypeScript sampler: a tiny random U-Net exported to ONNX, fixed conditions and noise,
and every intermediate sample of the reference samplers. The TS test runs the same ONNX model on the same noise
and must agree to 1e-4 at every step.

  /usr/bin/python3 models/training/make_golden.py   # writes tests/fixtures/golden/
"""
import json
from pathlib import Path

import numpy as np
import torch

import diffusion
from export import export
from unet import UNet

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "golden"
# (sampler, steps, eta, height/width): the full 1000-step chain on a small image keeps the noise file small
CASES = [("ddpm", 10, 0.0, 32), ("ddpm", 1000, 0.0, 8), ("ddim", 8, 0.0, 32), ("ddim", 8, 0.5, 32)]


def tiny_model() -> UNet:
    torch.manual_seed(0)
    model = UNet(in_channels=3, model_channels=8, channel_mult=(1, 2), attention_levels=(1,), heads=2)
    with torch.no_grad():  # zero-initialised layers would make the output trivially 0: randomise everything
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return model.eval()


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    model = tiny_model()
    export(model, OUT / "tiny.onnx", size=32)
    gen = torch.Generator().manual_seed(1)
    b = 2
    meta = {"batch": b, "condChannels": 2, "T": 1000, "cases": []}
    for kind, steps, eta, h in CASES:
        w = h
        name = f"{kind}-{steps}-eta{eta}"
        cond = torch.rand(b, 2, h, w, generator=gen)
        cond.numpy().astype("<f4").tofile(OUT / f"{name}.cond.f32")
        sampler = diffusion.make_sampler(kind, 1000, steps, eta)
        n = len(sampler.timesteps)
        noises = [torch.randn(b, 1, h, w, generator=gen) for _ in range(n + 1)]
        trace = []
        diffusion.sample(model, sampler, cond, noises=noises, trace=trace)
        # Long chains: keep the noise and the trace small on disk by storing the first 5, the last 5 and the final sample.
        keep = sorted(set(range(min(5, n))) | set(range(max(0, n - 5), n)))
        torch.stack(noises).numpy().astype("<f4").tofile(OUT / f"{name}.noise.f32")
        torch.stack([trace[i] for i in keep]).numpy().astype("<f4").tofile(OUT / f"{name}.trace.f32")
        meta["cases"].append({"name": name, "height": h, "width": w, "kind": kind, "steps": steps, "eta": eta,
                              "timesteps": [int(t) for t in sampler.timesteps], "traceSteps": keep})
    (OUT / "golden.json").write_text(json.dumps(meta, indent=1))
    print(f"wrote golden vectors to {OUT}")


if __name__ == "__main__":
    main()
