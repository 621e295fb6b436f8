#!/usr/bin/env python3
"""Single-thread onnxruntime latency of two ONNX files, interleaved in one
process (the reference side of `siamedge-quantize report --onnxruntime`).

Usage: python3 quantize/scripts/ort_latency.py A.onnx B.onnx [--runs 100] [--warmup 10]
Prints one JSON object. Needs `pip install onnxruntime numpy`.
"""
import argparse
import json
import statistics
import time


def session(path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def main():
    import numpy as np
    import onnxruntime as ort

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reference")
    ap.add_argument("candidate")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    args = ap.parse_args()
    sessions = [session(args.reference), session(args.candidate)]
    inp = sessions[0].get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    feeds = [{s.get_inputs()[0].name: x} for s in sessions]
    for _ in range(args.warmup):
        for s, f in zip(sessions, feeds):
            s.run(None, f)
    samples = [[], []]
    for _ in range(args.runs):
        for i, (s, f) in enumerate(zip(sessions, feeds)):
            t = time.perf_counter()
            s.run(None, f)
            samples[i].append((time.perf_counter() - t) * 1e3)
    a, b = (statistics.median(s) for s in samples)
    print(json.dumps({
        "onnxruntime": ort.__version__,
        "runs": args.runs,
        "reference_p50_ms": a,
        "candidate_p50_ms": b,
        "speedup": a / b,
    }))


if __name__ == "__main__":
    main()
