#!/usr/bin/env python3
"""Checks a model saved by descent from outside descent: loads it with the `safetensors`
package, applies its preprocessing and layers by hand with numpy, and compares the result
with `descent predict` on the same rows.

Usage: scripts/check-model.py MODEL.safetensors DATA.csv [DESCENT_BINARY]

Needs numpy and safetensors (pip install numpy safetensors, in a virtualenv outside the
repository). CI does not run it. Exit status 0 when every prediction agrees and every
probability is within 1e-4 (the model computes in its own precision, numpy in f64).
"""

import csv
import io
import json
import math
import subprocess
import sys

import numpy as np
from safetensors import safe_open


def missing(cell):
    return cell is None or cell.strip().lower() in ("", "na", "nan", "null")


def encode(columns, row):
    """The features of one row, as descent's Encoding::encode."""
    out = []
    for column in columns:
        cell = row.get(column["name"])
        if column["kind"] == "numeric":
            if missing(cell):
                if column.get("fill") is None:
                    raise ValueError(f"missing `{column['name']}`")
                out.append(float(column["fill"]))
            else:
                out.append(float(cell))
        else:
            value = column.get("fill") if missing(cell) else cell.strip()
            out.extend(1.0 if value == k else 0.0 for k in column["categories"])
    return out


ACTIVATIONS = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "step": lambda z: (z > 0).astype(float),
    "softmax": lambda z: np.exp(z - z.max(axis=1, keepdims=True))
    / np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True),
}


def by_hand(model_path, data_path):
    with safe_open(model_path, framework="numpy") as f:
        meta = f.metadata()
        info = json.loads(meta["model"])
        prep = json.loads(meta["preprocessing"])
        layers = [
            (f.get_tensor(f"layers.{l}.weight"), f.get_tensor(f"layers.{l}.bias"), layer["activation"])
            for l, layer in enumerate(info["layers"])
        ]
    encoding = prep["encoding"]
    with open(data_path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if any(not missing(v) for v in r.values())]
    x = np.array([encode(encoding["columns"], r) for r in rows], dtype=np.float64)
    if prep.get("mean"):
        std = np.array(prep["std"])
        x = (x - np.array(prep["mean"])) / np.where(std > 0, std, 1.0)
    a = x
    for w, b, activation in layers:
        z = a @ w.astype(np.float64) + b.astype(np.float64)
        a = ACTIVATIONS[activation](z)
    classes = encoding.get("classes", [])
    if info["task"] == "regression":
        return [[v] for v in a[:, 0]], None
    if info["task"] == "binary":
        p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
        names = [classes[int(s > 0)] for s in z[:, 0]]
        return names, np.stack([1.0 - p1, p1], axis=1)
    p = ACTIVATIONS["softmax"](z)
    return [classes[i] for i in z.argmax(axis=1)], p


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    model, data = sys.argv[1], sys.argv[2]
    binary = sys.argv[3] if len(sys.argv) > 3 else "target/release/descent"
    out = subprocess.run([binary, "predict", model, data], check=True, capture_output=True, text=True)
    theirs = list(csv.reader(io.StringIO(out.stdout)))
    header, theirs = theirs[0], theirs[1:]
    names, probabilities = by_hand(model, data)
    worst, disagreements = 0.0, 0
    for i, row in enumerate(theirs):
        if probabilities is None:
            theirs_value, mine = float(row[0]), names[i][0]
            if math.isnan(theirs_value) or math.isnan(mine):
                disagreements += not (math.isnan(theirs_value) and math.isnan(mine))
                continue
            worst = max(worst, abs(theirs_value - mine) / max(1.0, abs(mine)))
            continue
        disagreements += row[0] != names[i]
        for j, p in enumerate(row[1:]):
            worst = max(worst, abs(float(p) - probabilities[i, j]))
    print(f"{len(theirs)} rows; columns {', '.join(header)}")
    print(f"predictions that differ: {disagreements}; largest difference in a probability or value: {worst:.2e}")
    ok = disagreements == 0 and worst <= 1e-4 and len(theirs) == len(names)
    print("OK: numpy on the safetensors file agrees with descent predict" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
