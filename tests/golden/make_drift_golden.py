#!/usr/bin/env python3
"""Writes tests/golden/drift/streams.json: river's own drift-detector test streams
(river/drift/test_drift_detectors.py and the DDM docstring), regenerated with the same
numpy / Python seeds, and the detection indices river's tests assert for them. river is
not needed: only the streams are generated here; the indices are river's published
expectations (river 0.15+: ADWIN and PageHinkley restart after a detection).
Run: /usr/bin/python3 tests/golden/make_drift_golden.py (Debian numpy)"""
import json
import pathlib
import random

import numpy as np

np.random.seed(12345)
stream_1 = np.concatenate((np.random.randint(2, size=1000), np.random.randint(8, size=1000)))

np.random.seed(12345)
stream_2 = np.concatenate(
    [
        [np.random.binomial(1, 0.2) for _ in range(1000)],
        [np.random.binomial(1, 0.8) for _ in range(1000)],
    ]
).astype(int)

rng = random.Random(42)
ddm_doc = rng.choices([0, 1], k=1000)
ddm_doc = ddm_doc + rng.choices([0, 1], k=1000, weights=[0.3, 0.7])

out = {
    "stream_1": [int(v) for v in stream_1],
    "stream_2": [int(v) for v in stream_2],
    "ddm_doc": [int(v) for v in ddm_doc],
    "expected": {
        "adwin_stream_1": [1055],
        "page_hinkley_stream_1": [1020, 1991],
        "ddm_stream_2": [1049],
        "ddm_doc_drift": [1334],
        "ddm_doc_first_warning": 1084,
    },
}
path = pathlib.Path(__file__).resolve().parent / "drift" / "streams.json"
path.write_text(json.dumps(out, separators=(",", ":")) + "\n")
print(f"wrote {path}")
