#!/usr/bin/env python3
"""siamedge's face pipeline against onnxruntime on the same model files and frames.

For each frame size, runs `siamedge bench PHOTOS --frame-size WxH --json` (the
photos replayed as JPEG camera frames of that size: decode, detect, align,
liveness, embed) and then onnxruntime (one thread) on the same ONNX files with
the same work: P-Net on the same pyramid shapes, R-Net and O-Net on as many
crops as siamedge's detector ran per frame, the liveness net once, the
embedder once. Prints each stage's p50 in milliseconds and the ratio
siamedge / onnxruntime (below 1: siamedge is faster). onnxruntime's figures
are the networks alone; siamedge's include its resizing, crops and
post-processing.

usage: tests/reference/bench_frame.py [--siamedge BIN] [--models DIR]
           [--photos DIR] [--variant V] [--runs N] [--sizes 640x480,1280x720] [--json]
needs: python3 with numpy and onnxruntime (pip install numpy onnxruntime)
"""
import argparse
import json
import math
import subprocess
import sys
import time

try:
    import numpy as np
    import onnxruntime as ort
except ImportError as e:
    sys.exit(f"bench_frame.py: {e.name} is missing: pip install numpy onnxruntime")

EMBEDDER = {"fp32": "MobileFaceNet.onnx", "int8": "MobileFaceNet.int8.onnx",
            "pruned-int8": "MobileFaceNet.pruned-int8.onnx"}
MIN_FACE, FACTOR = 40.0, 0.709  # MtcnnConfig::default(), which `siamedge bench` uses


def pyramid(w, h):
    """P-Net input shapes (N, C, W, H: the nets are transposed) as siamedge's Mtcnn::propose makes them."""
    shapes, face, short = [], MIN_FACE, min(w, h)
    while face <= short:
        s = 12.0 / face
        shapes.append((1, 3, max(math.ceil(w * s), 12), max(math.ceil(h * s), 12)))
        face /= FACTOR
    return shapes


def median_ms(f, runs, warmup=3):
    for _ in range(warmup):
        f()
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        ts.append((time.perf_counter() - t) * 1e3)
    return float(np.median(ts))


def ort_stages(models, variant, w, h, rnet_crops, onet_crops, runs):
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    o.inter_op_num_threads = 1
    sess = {n: ort.InferenceSession(f"{models}/{f}", o, providers=["CPUExecutionProvider"])
            for n, f in [("pnet", "pnet.onnx"), ("rnet", "rnet.onnx"), ("onet", "onet.onnx"),
                         ("liveness", "FaceAntiSpoofing.onnx"), ("embed", EMBEDDER[variant])]}
    rng = np.random.default_rng(0)

    def feed(name, shape):
        s = sess[name]
        x = {s.get_inputs()[0].name: rng.random(shape, dtype=np.float32)}
        return lambda: s.run(None, x)

    levels = [feed("pnet", shape) for shape in pyramid(w, h)]
    rnet, onet = feed("rnet", (1, 3, 24, 24)), feed("onet", (1, 3, 48, 48))
    nr, no = round(rnet_crops), round(onet_crops)
    return {
        "detect: P-Net": median_ms(lambda: [f() for f in levels], runs),
        "detect: R-Net": median_ms(lambda: [rnet() for _ in range(nr)], runs),
        "detect: O-Net": median_ms(lambda: [onet() for _ in range(no)], runs),
        "liveness": median_ms(feed("liveness", (1, 3, 256, 256)), runs),
        "embed": median_ms(feed("embed", (1, 3, 112, 112)), runs),
    }


def siamedge_stages(args, size):
    cmd = [args.siamedge, "--models", args.models, "bench", args.photos, "--frame-size", size,
           "--variant", args.variant, "--runs", str(args.runs), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    report = json.loads(out)
    v = report["variants"][0]
    stages = {s["stage"]: (s["latency"]["p50_ms"], s["latency"]["p90_ms"]) for s in v["pipeline"]}
    return stages, v["detector"], report.get("debug_build", False)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--siamedge", default="target/release/siamedge")
    p.add_argument("--models", default="models/build/onnx")
    p.add_argument("--photos", default="models/build/samples")
    p.add_argument("--variant", default="int8", choices=sorted(EMBEDDER))
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--sizes", default="640x480,1280x720")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    results = []
    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.split("x"))
        ours, det, debug = siamedge_stages(args, size)
        if debug:
            print(f"warning: {args.siamedge} is a debug build; time a release build", file=sys.stderr)
        theirs = ort_stages(args.models, args.variant, w, h, det["rnet_crops"], det["onet_crops"], args.runs)
        theirs["detect"] = sum(theirs[k] for k in ("detect: P-Net", "detect: R-Net", "detect: O-Net"))
        theirs["total"] = theirs["detect"] + theirs["liveness"] + theirs["embed"]
        rows = []
        for stage in ["decode", "detect", "detect: P-Net", "detect: R-Net", "detect: O-Net",
                      "align", "liveness", "embed", "total"]:
            p50, p90 = ours.get(stage, (float("nan"), float("nan")))
            ref = theirs.get(stage)
            rows.append({"stage": stage, "siamedge_p50_ms": p50, "siamedge_p90_ms": p90,
                         "onnxruntime_ms": ref, "ratio": p50 / ref if ref else None})
        results.append({"size": size, "variant": args.variant, "detector": det, "stages": rows})
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"onnxruntime {ort.__version__}, 1 thread; siamedge: {args.siamedge}, embedder variant {args.variant}\n")
    for r in results:
        d = r["detector"]
        print(f"## {r['size']}: P-Net on {d['scales']:.0f} scales, R-Net on {d['rnet_crops']:.1f} crops, "
              f"O-Net on {d['onet_crops']:.1f} per frame ({d['frames']} frames)\n")
        print("| stage | siamedge p50 ms | p90 ms | onnxruntime ms | ratio |\n|---|---:|---:|---:|---:|")
        for s in r["stages"]:
            ref = "" if s["onnxruntime_ms"] is None else f"{s['onnxruntime_ms']:.2f}"
            ratio = "" if s["ratio"] is None else f"**{s['ratio']:.2f}x**"
            print(f"| {s['stage']} | {s['siamedge_p50_ms']:.2f} | {s['siamedge_p90_ms']:.2f} | {ref} | {ratio} |")
        print()


if __name__ == "__main__":
    main()
