"""A MobileNetV2-class bundle (random weights, 10 classes, 3x224x224) and a 640x480 camera-like
JPEG, for `plateau bench infer`: the cost of decoding and resizing a frame next to the model's own.

    python3 models/training/make_jpeg_bench.py --out DIR
    plateau bench infer -m DIR/mnv2 DIR/frame.jpg --seconds 10 [--json]
"""
import argparse
import os

import numpy as np
import torch
import torchvision
from PIL import Image

MANIFEST = """name: mnv2
version: 1
task: classification
input:
  tensor: image
  shape: [3, 224, 224]
  decode: image-rgb
  scale: 0.00392156862745098
  mean: [0.485, 0.456, 0.406]
  std: [0.229, 0.224, 0.225]
output:
  tensor: logits
  labels: [a, b, c, d, e, f, g, h, i, j]
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    bundle = os.path.join(args.out, "mnv2")
    os.makedirs(bundle, exist_ok=True)
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2(num_classes=10).eval()
    torch.onnx.export(model, torch.randn(1, 3, 224, 224), os.path.join(bundle, "model.onnx"),
                      input_names=["image"], output_names=["logits"], opset_version=13,
                      dynamic_axes={"image": {0: "n"}, "logits": {0: "n"}})
    with open(os.path.join(bundle, "manifest.yaml"), "w") as f:
        f.write(MANIFEST)
    # Smooth gradients, a block and sensor noise; JPEG quality 85, as a camera's stream.
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:480, 0:640]
    img = np.stack([128 + 100 * np.sin(x / 40.0), 128 + 80 * np.cos(y / 30.0),
                    100 + 50 * np.sin((x + y) / 25.0)], -1)
    img[150:300, 200:400] = [200, 40, 40]
    img += rng.normal(0, 12, img.shape)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(os.path.join(args.out, "frame.jpg"), quality=85)


if __name__ == "__main__":
    main()
