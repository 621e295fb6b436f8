#!/usr/bin/env python3
"""Reference outputs of FaceAntiSpoofing.tflite from Google's LiteRT interpreter
for the liveness test in tests/face_pipeline.rs (verification only).

The test, run with SIAMEDGE_DUMP_LIVENESS_CROPS=DIR, writes the exact 256x256
RGB crops it feeds the network as DIR/<case>.rgb (raw bytes); this script runs
the packaged TFLite model on them, preprocessed as the app does (p / 255,
NHWC), and writes the per-leaf predictions, the leaf mask and the spoof score
(sum |prediction| x mask) of each case:

    pip install ai-edge-litert numpy
    SIAMEDGE_DUMP_LIVENESS_CROPS=/tmp/crops cargo test --test face_pipeline liveness
    python3 tests/reference/liveness_litert.py --tflite models/build/tflite/FaceAntiSpoofing.tflite \\
        --crops /tmp/crops --out tests/reference/liveness-litert.json
"""

import argparse
import glob
import hashlib
import json
import os

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tflite", required=True)
    ap.add_argument("--crops", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    interp = Interpreter(model_path=a.tflite, num_threads=1)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    outs = sorted(interp.get_output_details(), key=lambda d: d["name"])
    cases = []
    for path in sorted(glob.glob(os.path.join(a.crops, "*.rgb"))):
        raw = open(path, "rb").read()
        assert len(raw) == 256 * 256 * 3, path
        x = np.frombuffer(raw, np.uint8).reshape(1, 256, 256, 3).astype(np.float32) / 255.0
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        pred, mask = (interp.get_tensor(o["index"]).reshape(-1) for o in outs)
        cases.append({
            "case": os.path.basename(path)[:-4],
            "crop_fnv1a64": fnv1a64(raw),
            "leaves": [float(v) for v in np.concatenate([pred, mask])],
            "score": float(np.sum(np.abs(pred) * mask)),
        })
    record = {
        "interpreter": "ai-edge-litert",
        "model_sha256": hashlib.sha256(open(a.tflite, "rb").read()).hexdigest(),
        "cases": cases,
    }
    with open(a.out, "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    for c in cases:
        print(f"{c['case']}: score {c['score']:.4f}")


if __name__ == "__main__":
    main()
