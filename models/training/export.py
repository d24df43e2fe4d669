"""Export a U-Net to ONNX (opset 17; dynamic batch, height and width).

  /usr/bin/python3 models/training/export.py --model wt-4seq        # EMA weights of the last checkpoint

Inputs: x [B, C+1, H, W] float32 (sequences in the card's order, then the noisy mask), t [B] float32 (timestep on
the original 0..T-1 scale). Output: out [B, 2, H, W] (eps, learned-variance interpolation v).
"""
import argparse
from pathlib import Path

import onnx
import torch

from unet import UNet

HERE = Path(__file__).resolve().parent
MODELS = HERE.parent


def export(model: UNet, path: Path, size: int = 64) -> None:
    model.eval()
    c = model.config["in_channels"]
    x, t = torch.randn(2, c, size, size), torch.tensor([999.0, 10.0])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    # No constant folding: initializers keep the parameter names, so the PyTorch reference can load the very same
    # weights back from the ONNX file (onnx_weights.py); onnxruntime folds constants itself when it loads the model.
    torch.onnx.export(model, (x, t), str(tmp), opset_version=17, input_names=["x", "t"], output_names=["out"],
                      do_constant_folding=False,
                      dynamic_axes={"x": {0: "batch", 2: "height", 3: "width"}, "t": {0: "batch"},
                                    "out": {0: "batch", 2: "height", 3: "width"}})
    onnx.checker.check_model(onnx.load(str(tmp)))
    tmp.replace(path)


def load_checkpoint(path: Path, use_ema: bool = True) -> UNet:
    state = torch.load(path)
    model = UNet(**state["config"])
    model.load_state_dict(state["ema" if use_ema else "model"])
    return model.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    ckpt = Path(args.checkpoint or HERE / "checkpoints" / args.model / "last.pt")
    out = Path(args.out or MODELS / args.model / "model.onnx")
    export(load_checkpoint(ckpt), out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
