#!/usr/bin/env python3
"""Single-thread latency of the same MobileFaceNet ONNX file in siamedge (tract)
and in onnxruntime, measured in one run with the two interleaved, then the
whole per-image pipeline (decode, detect, align, embed) in siamedge.

Usage: python3 tests/reference/bench_embed.py --siamedge target/debug/siamedge \
           --models models/build/onnx [--rounds 3] [--runs 100] [--json] [PHOTO ...]
The reference side needs `pip install onnxruntime numpy`.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time


def ort_latency(model, runs, warmup):
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    for _ in range(warmup):
        sess.run(None, {inp.name: x})
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, {inp.name: x})
        samples.append((time.perf_counter() - t) * 1e3)
    return statistics.median(samples), ort.__version__


def siamedge_bench(exe, models, runs, warmup, photos):
    """The fp32 variant's entry of a `siamedge bench --json` report."""
    cmd = [exe, "--models", models, "bench", "--json", "--variant", "fp32",
           "--runs", str(runs), "--warmup", str(warmup)] + photos
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["variants"][0]


def pipeline_stages(exe, models, runs, warmup, photo):
    """Per-stage p50 ms of the whole pipeline on one photo."""
    stages = siamedge_bench(exe, models, runs, warmup, [photo])["pipeline"]
    return {"image": photo, **{s["stage"]: s["latency"]["p50_ms"] for s in stages}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--siamedge", required=True, help="path of the siamedge binary")
    ap.add_argument("--models", default="models/build/onnx")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("photos", nargs="*")
    a = ap.parse_args()
    model = f"{a.models}/MobileFaceNet.onnx"
    ours, theirs = [], []
    version = None
    for _ in range(a.rounds):
        ours.append(siamedge_bench(a.siamedge, a.models, a.runs, a.warmup, [])["embed"]["p50_ms"])
        ms, version = ort_latency(model, a.runs, a.warmup)
        theirs.append(ms)
    pipeline = [pipeline_stages(a.siamedge, a.models, max(a.runs // 4, 10), 3, p) for p in a.photos]
    report = {
        "model": model,
        "rounds": a.rounds,
        "runs_per_round": a.runs,
        "tract_p50_ms_per_round": ours,
        "onnxruntime_p50_ms_per_round": theirs,
        "onnxruntime_version": version,
        "tract_p50_ms": statistics.median(ours),
        "onnxruntime_p50_ms": statistics.median(theirs),
        "tract_over_onnxruntime": statistics.median(ours) / statistics.median(theirs),
        "pipeline": pipeline,
    }
    if a.json:
        print(json.dumps(report, indent=2))
        return
    print(f"MobileFaceNet fp32, single thread, median of {a.rounds} interleaved rounds x {a.runs} runs")
    print("| runtime | p50 ms |")
    print("|---|---|")
    print(f"| siamedge (tract) | {report['tract_p50_ms']:.2f} |")
    print(f"| onnxruntime {version} | {report['onnxruntime_p50_ms']:.2f} |")
    print(f"tract / onnxruntime = {report['tract_over_onnxruntime']:.2f}")
    if pipeline:
        print("\nwhole per-image pipeline in siamedge (p50 ms)")
        print("| photo | decode | detect | align | embed | total |")
        print("|---|---|---|---|---|---|")
        for p in pipeline:
            print(f"| {p['image']} | {p['decode']:.2f} | {p['detect']:.2f} | {p['align']:.2f} | {p['embed']:.2f} | {p['total']:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
