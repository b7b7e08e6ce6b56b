#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses (fuzz/corpus/{model,card,csv}).

    /usr/bin/python3 fuzz/make_corpus.py build/test/tools/mlops

Model inputs start with a mode byte (odd: the harness repairs the checksums first, so the
attack reaches the structural checks; even: bytes as they are). Named attack files:
oversized section length, overlapping sections, huge section count, every u64 near the
start of each payload set to 2^64-1 ("negative") and 2^61 (overflows when multiplied by
the element size), truncation at every section boundary, a total length that lies.
"""
import json, os, struct, subprocess, sys, tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
mlops = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build/test/tools/mlops")
data = os.path.join(root, "data/house_prices.csv")
out = {k: os.path.join(root, "fuzz/corpus", k) for k in ("model", "card", "csv")}
for d in out.values():
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))

def write(kind, name, payload):
    with open(os.path.join(out[kind], name), "wb") as f:
        f.write(payload)

tmp = tempfile.mkdtemp()
binary = os.path.join(tmp, "bin.csv")
with open(data) as f, open(binary, "w") as g:
    lines = f.read().splitlines()
    g.write("area,age,location_score,expensive\n")
    for l in lines[1:]:
        a = l.split(",")
        if a[3] not in ("", "NA"):
            g.write(",".join(a[:3] + ["1" if float(a[3]) > 250000 else "0"]) + "\n")
models = {
    "ridge": [data, "--target", "price", "--impute", "median", "--iqr", "1.5", "--standardize", "--model", "ridge"],
    "sgd": [data, "--target", "price", "--impute", "mean", "--standardize", "--model", "sgd", "--epochs", "3"],
    "logistic": [binary, "--target", "expensive", "--impute", "median", "--standardize", "--model", "logistic"],
    "svm": [binary, "--target", "expensive", "--impute", "mean", "--standardize", "--model", "svm", "--epochs", "3"],
}
files = {}
for name, args in models.items():
    path = os.path.join(tmp, name + ".mlops")
    subprocess.run([mlops, "train", *args, "--out", path], check=True, capture_output=True)
    files[name] = open(path, "rb").read()
    card = subprocess.run([mlops, "inspect", path, "--json"], check=True, capture_output=True).stdout
    write("card", f"valid_{name}.json", card)

def sections(b):
    at, out_ = 32, []
    while at + 20 <= len(b) - 4:
        tag, flags, length, crc = struct.unpack_from("<4sIQI", b, at)
        out_.append((tag.decode("latin1"), at, length))
        at += 20 + length
    return out_

for name, b in files.items():
    write("model", f"valid_{name}_as_is", b"\x00" + b)
    write("model", f"valid_{name}_repaired", b"\x01" + b)
ridge = bytearray(files["ridge"])
secs = sections(ridge)
def attack(name, mutate, mode=1):
    b = bytearray(ridge)
    mutate(b)
    write("model", name, bytes([mode]) + bytes(b))
attack("oversized_length", lambda b: struct.pack_into("<Q", b, secs[0][1] + 8, 1 << 62))
attack("overlapping_sections", lambda b: struct.pack_into("<Q", b, secs[0][1] + 8, secs[0][2] + 20))
attack("section_count_huge", lambda b: struct.pack_into("<I", b, 16, 0xFFFFFFFF))
attack("section_count_zero", lambda b: struct.pack_into("<I", b, 16, 0))
attack("total_length_lies", lambda b: struct.pack_into("<Q", b, 20, len(b) + 4096), mode=0)
attack("future_major", lambda b: struct.pack_into("<H", b, 8, 99))
attack("scalar_size_3", lambda b: struct.pack_into("<B", b, 12, 3))
for tag, at, length in secs:
    for off in range(0, min(length - 8, 33)):
        for value, label in ((0xFFFFFFFFFFFFFFFF, "negative"), (1 << 61, "overflow")):
            attack(f"{tag}_u64_at_{off}_{label}", lambda b, o=at + 20 + off, v=value: struct.pack_into("<Q", b, o, v))
boundaries = [32] + [at for _, at, _ in secs] + [at + 20 for _, at, _ in secs] + [len(ridge) - 4]
for cut in sorted(set(boundaries)):
    write("model", f"truncated_at_{cut}", b"\x00" + bytes(ridge[:cut]))
    write("model", f"truncated_at_{cut}_repaired", b"\x01" + bytes(ridge[:cut]))

# cards
valid = json.loads(open(os.path.join(out["card"], "valid_ridge.json")).read())
write("card", "deep_nesting.json", b'{"format":' + b"[" * 5000 + b"]" * 5000 + b"}")
bad = dict(valid); bad["features"] = [1, 2, 3]
write("card", "feature_not_string.json", json.dumps(bad).encode())
bad = dict(valid); bad["format"] = {"name": "mlops-pipeline", "version": "9.0"}
write("card", "future_major.json", json.dumps(bad).encode())
bad = dict(valid); bad["model"] = dict(valid["model"]); bad["model"]["coefficients"] = {"area": "x"}
write("card", "coefficient_not_number.json", json.dumps(bad).encode())
write("card", "huge_number.json", json.dumps(valid).replace('"rank": 3', '"rank": 1e999').encode())
write("card", "truncated.json", json.dumps(valid).encode()[:200])

# csv
write("csv", "house_prices_head.csv", "\n".join(lines[:40]).encode() + b"\n")
write("csv", "quoted.csv", b'a,b,"c, with comma"\n1,"2",3\n"4","5 ""x""",6\n')
write("csv", "newline_in_quotes.csv", b'a,b\n"1\n2",3\n')
write("csv", "ragged.csv", b"a,b\n1,2\n3\n")
write("csv", "bom_crlf.csv", b"\xef\xbb\xbfa,b\r\n1,2\r\n,NA\r\n")
write("csv", "only_header.csv", b"a,b,c\n")
write("csv", "empty.csv", b"")
write("csv", "unclosed_quote.csv", b'a,b\n"1,2\n')
write("csv", "numbers.csv", b"x\n1e308\n-1e-320\ninf\n-nan\n0x1p3\n+5\n.5\n5.\n")
print({k: len(os.listdir(d)) for k, d in out.items()})
