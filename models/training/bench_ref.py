"""Time the PyTorch reference sampler (diffusion.py) on the shipped ONNX weights, for `halo bench` to compare with.

  /usr/bin/python3 models/training/bench_ref.py --model-dir models/wt-4seq --batch 5 --height 96 --width 96 --steps 20

Prints one JSON line: seconds per sampling step (model + sampler update) and per whole chain.
"""
import argparse
import json
import time

import torch

import diffusion
from onnx_weights import load_unet_from_onnx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--batch", type=int, default=5)
    ap.add_argument("--height", type=int, default=96)
    ap.add_argument("--width", type=int, default=96)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0, help="0: PyTorch's default")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_unet_from_onnx(args.model_dir)
    c = model.config["in_channels"] - 1
    cond = torch.rand(args.batch, c, args.height, args.width, generator=torch.Generator().manual_seed(0))
    sampler = diffusion.make_sampler("ddpm", 1000, args.steps)
    diffusion.sample(model, diffusion.make_sampler("ddpm", 1000, 2), cond)  # warm-up
    t0 = time.perf_counter()
    diffusion.sample(model, sampler, cond)
    chain = time.perf_counter() - t0
    print(json.dumps({"seconds_per_step": chain / args.steps, "seconds_per_chain": chain, "batch": args.batch,
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
