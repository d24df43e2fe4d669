"""Load a U-Net's weights back from its ONNX file, so that the PyTorch reference sampler runs on exactly the weights
the app ships (models/<id>/model.onnx + the architecture in card.json) — no checkpoint needed."""
import json
from pathlib import Path

import onnx
import torch
from onnx import numpy_helper

from unet import UNet

ARCH_KEYS = ("in_channels", "model_channels", "channel_mult", "num_res_blocks", "attention_levels", "heads", "dropout")


def load_unet_from_onnx(model_dir) -> UNet:
    model_dir = Path(model_dir)
    card = json.loads((model_dir / "card.json").read_text())
    model = UNet(**{k: card["architecture"][k] for k in ARCH_KEYS})
    graph = onnx.load(str(model_dir / card["onnx"]["file"])).graph
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}
    state = model.state_dict()
    missing = [k for k in state if k not in weights]
    if missing:
        raise ValueError(f"{model_dir}: ONNX file lacks parameters {missing[:5]}... (exported with constant folding?)")
    model.load_state_dict({k: weights[k] for k in state})
    return model.eval()
