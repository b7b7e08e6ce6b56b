#!/usr/bin/env python3
"""Black-box tests of `mlops serve` (issue 21), on loopback only, bounded in time.

  serve_test.py MLOPS DATA.csv WORK_DIR [ALERT_RULES.yml]

Trains two versions of a model into a registry, serves production with staging as a
shadow challenger, then: the TensorFlow Serving REST shapes (instances, inputs, CSV),
status and metadata, a bad-request matrix (each answered with a 4xx JSON error, the next
request served), a slow client, feedback and the champion/challenger counters, hot
reload under load (promote and roll back while clients send requests: no request fails,
every answer comes from exactly one version), /metrics checked by promtool, a real
Prometheus scraping the server, the alerting rules checked by promtool, and a graceful
SIGTERM (exit 0).
"""
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

mlops, data, work = (os.path.abspath(a) for a in sys.argv[1:4])
rules = os.path.abspath(sys.argv[4]) if len(sys.argv) > 4 else None
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
os.chdir(work)

failures = []
passed = 0


def check(what, cond, detail=""):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(f"{what} {detail}")
        print(f"FAIL: {what} {detail}", flush=True)


def run(*args):
    r = subprocess.run([mlops, *args], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit(f"mlops {' '.join(args)} failed")
    return r.stdout


# Two versions: v1 on the data as it is, v2 with a different cleaning (another model).
run("train", data, "--target", "price", "--impute", "median", "--standardize", "--register", "house", "--registry", "reg")
run("train", data, "--target", "price", "--impute", "mean", "--iqr", "1.5", "--model", "ridge", "--alpha", "50",
    "--register", "house", "--registry", "reg")
run("registry", "promote", "house", "1", "production", "--registry", "reg")
run("registry", "promote", "house", "2", "staging", "--registry", "reg")


class Server:
    def __init__(self, *extra):
        self.err = open("serve.err", "a")
        if os.path.exists("port.txt"):
            os.remove("port.txt")
        self.p = subprocess.Popen([mlops, "serve", *extra, "--port", "0", "--port-file", "port.txt"],
                                  stdout=subprocess.DEVNULL, stderr=self.err)
        t0 = time.time()
        while not os.path.exists("port.txt"):
            if self.p.poll() is not None or time.time() - t0 > 20:
                raise SystemExit("mlops serve did not start: " + open("serve.err").read())
            time.sleep(0.05)
        self.port = int(open("port.txt").read())

    def request(self, method, path, body=None, headers=None, timeout=10):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        raw = r.read().decode()
        c.close()
        try:
            return r.status, json.loads(raw)
        except ValueError:
            return r.status, raw

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        return self.p.wait(timeout=30)


srv = Server("--registry", "reg", "--model", "house", "--challenger", "staging", "--shadow", "--poll", "0.2",
             "--max-rows", "50", "--max-body", "65536", "--timeout", "1", "--threads", "4")
P = "/v1/models/house:predict"
row = {"area": 120.0, "age": 10.0, "location_score": 5.0}

# --- the REST shapes
s, b = srv.request("POST", P, {"instances": [row, {"area": 200, "age": 3, "location_score": 8}]})
check("instances by name: 200", s == 200, b)
check("two predictions, version 1, row ids", s == 200 and len(b["predictions"]) == 2 and b["model_version"] == "1"
      and len(b["request_ids"]) == 2, b)
y1 = b["predictions"][0] if s == 200 else None
s, b = srv.request("POST", P, {"instances": [[120, 10, 5]]})
check("instances as arrays in schema order give the same answer", s == 200 and b["predictions"] == [y1], b)
s, b = srv.request("POST", P, {"inputs": {"area": [120], "age": [10], "location_score": [5], "extra": ["ignored"]}})
check("columnar inputs", s == 200 and b["predictions"] == [y1], b)
s, b = srv.request("POST", P, "area,age,location_score\n120,10,5\n", {"Content-Type": "text/csv"})
check("CSV body", s == 200 and b["predictions"] == [y1], b)
s, b = srv.request("POST", "/v1/models/house/labels/staging:predict", {"instances": [row]})
check("labels/staging answers from the challenger", s == 200 and b["model_version"] == "2" and b["predictions"] != [y1], b)
s, b = srv.request("POST", "/v1/models/house/versions/1:predict", {"instances": [row]})
check("versions/1", s == 200 and b["predictions"] == [y1], b)
s, b = srv.request("GET", "/v1/models/house")
states = {x["alias"]: x for x in b.get("model_version_status", [])} if s == 200 else {}
check("status lists both aliases AVAILABLE", s == 200 and states.get("production", {}).get("version") == "1"
      and states.get("staging", {}).get("version") == "2" and states["production"]["state"] == "AVAILABLE", b)
s, b = srv.request("GET", "/v1/models/house/metadata")
check("metadata names the inputs", s == 200 and [i["name"] for i in b["metadata"]["inputs"]] == ["area", "age", "location_score"], b)
check("healthz", srv.request("GET", "/healthz")[0] == 200)
check("readyz", srv.request("GET", "/readyz")[0] == 200)

# --- bad requests: a 4xx JSON error naming the problem, and the next request is served
bad = [
    ("malformed JSON", "POST", P, '{"instances": [', None, 400, "malformed"),
    ("no instances", "POST", P, {"rows": []}, None, 400, "malformed"),
    ("both instances and inputs", "POST", P, {"instances": [row], "inputs": [row]}, None, 400, "malformed"),
    ("missing column", "POST", P, {"instances": [{"area": 1, "age": 2}]}, None, 400, "schema"),
    ("wrong width", "POST", P, {"instances": [[1, 2]]}, None, 400, "schema"),
    ("text for a number", "POST", P, {"instances": [dict(row, age="ten")]}, None, 400, "bad_value"),
    ("a boolean", "POST", P, {"instances": [dict(row, age=True)]}, None, 400, "bad_value"),
    ("a nested value", "POST", P, {"instances": [dict(row, age=[1])]}, None, 400, "bad_value"),
    ("an infinite number", "POST", P, '{"instances": [{"area": 1e999, "age": 1, "location_score": 1}]}', None, 400, "bad_value"),
    ("NaN literal", "POST", P, '{"instances": [{"area": NaN, "age": 1, "location_score": 1}]}', None, 400, "malformed"),
    ("a row not an object", "POST", P, {"instances": [row, 5]}, None, 400, "malformed"),
    ("too many rows", "POST", P, {"instances": [row] * 51}, None, 413, "too_many_rows"),
    ("body over the limit", "POST", P, '{"instances": [' + ",".join([json.dumps(row)] * 1500) + "]}", None, 413, "too_large"),
    ("unknown model", "POST", "/v1/models/nope:predict", {"instances": [row]}, None, 404, "not_found"),
    ("unknown version", "POST", "/v1/models/house/versions/9:predict", {"instances": [row]}, None, 404, "not_found"),
    ("unknown endpoint", "GET", "/v2/anything", None, None, 404, "not_found"),
    ("bad CSV", "POST", P, 'area,age\n"1,2\n', {"Content-Type": "text/csv"}, 400, "malformed"),
    ("CSV text in a number column", "POST", P, "area,age,location_score\nbig,1,2\n", {"Content-Type": "text/csv"}, 400, "malformed"),
    ("feedback for an unknown id", "POST", "/v1/models/house:feedback", {"request_id": "nobody", "label": 1}, None, 404, "not_found"),
    ("feedback without a label", "POST", "/v1/models/house:feedback", {"request_id": "x"}, None, 400, "malformed"),
]
for what, method, path, body, headers, status, kind in bad:
    s, b = srv.request(method, path, body, headers)
    check(f"bad request '{what}': {status} {kind}", s == status and isinstance(b, dict) and b.get("kind") == kind
          and len(b.get("error", "")) > 5, f"got {s} {b}")
    s2, _ = srv.request("POST", P, {"instances": [row]})
    check(f"served after '{what}'", s2 == 200)

# A flood of malformed requests leaves the server's memory bounded.
def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


flood = ['{"instances": [', '{"instances": [[1, "x", null]]}', '{"inputs": {"area": [1, 2], "age": [1]}}', "not json at all",
         '{"instances": [' + ",".join(['{"area": 1}'] * 50) + "]}"]
conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
for i in range(400):  # warm-up: thread stacks, allocator pools
    conn.request("POST", P, body=flood[i % len(flood)])
    conn.getresponse().read()
rss0 = rss_kib(srv.p.pid)
statuses = set()
for i in range(4000):
    conn.request("POST", P, body=flood[i % len(flood)])
    r = conn.getresponse()
    r.read()
    statuses.add(r.status)
conn.close()
rss1 = rss_kib(srv.p.pid)
check("a flood of malformed requests gets 4xx only", statuses <= {400, 413}, statuses)
if "ASAN_OPTIONS" in os.environ:
    # AddressSanitizer keeps freed memory in quarantine (256 MiB by default): RSS grows
    # by design there, so the bound is checked in the Release stage only.
    print(f"SKIP: RSS bound under AddressSanitizer ({rss0} -> {rss1} KiB)")
else:
    check("RSS stays bounded under 4000 malformed requests", rss1 - rss0 < 8 * 1024, f"{rss0} -> {rss1} KiB")
check("served after the flood", srv.request("POST", P, {"instances": [row]})[0] == 200)

# A slow client (sends half a request, then stalls) is cut off after --timeout; others are served.
sock = socket.create_connection(("127.0.0.1", srv.port))
sock.sendall(b"POST /v1/models/house:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inst")
t0 = time.time()
check("served while a client stalls", srv.request("POST", P, {"instances": [row]})[0] == 200)
sock.settimeout(10)
try:
    got = sock.recv(4096)
except OSError:
    got = b""
waited = time.time() - t0
check("the stalled client is answered or closed within the timeout", waited < 5, f"{waited:.1f}s {got[:80]}")
check("a stalled client gets a 4xx or a closed connection", got == b"" or got.split(b" ")[1].startswith(b"4"), got[:80])
sock.close()

# --- feedback pairs labels with predictions; the challenger predicted every row (shadow)
s, b = srv.request("POST", P, {"instances": [row], "request_id": "order-1"})
check("request id taken from the body", s == 200 and b["request_id"] == "order-1", b)
s, b = srv.request("POST", "/v1/models/house:feedback", {"request_id": "order-1", "label": 250000})
check("feedback matched", s == 200 and b["matched"] == 1, b)
s, b = srv.request("POST", "/v1/models/house:feedback", {"request_id": "order-1", "label": 250000})
check("a label counts once", s == 404, b)
s, metrics = srv.request("GET", "/metrics")
check("metrics: 200", s == 200)
for needle in ['mlops_serving_requests_total{model="house",endpoint="predict",code="200"}',
               'mlops_serving_errors_total{model="house",kind="too_large"} 1',
               'mlops_serving_loaded_version{model="house",alias="staging",role="challenger"} 2',
               "mlops_serving_request_duration_seconds_bucket", "mlops_serving_feedback_labels_total{model=\"house\"} 1",
               "mlops_serving_challenger_rows_total", "mlops_drift_window_rows"]:
    check(f"metrics has {needle}", needle in metrics)
if shutil.which("promtool"):
    r = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True, text=True)
    check("promtool check metrics", r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr)
    if rules:
        r = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, text=True)
        check("promtool check rules", r.returncode == 0, r.stdout + r.stderr)
else:
    print("SKIP: promtool is not installed (apt install prometheus)")

# --- hot reload under load: clients never fail, each answer is from exactly one version
stop = threading.Event()
answers, errors = [], []
lock = threading.Lock()


def client(k):
    c = None
    while not stop.is_set():
        try:
            if c is None:
                c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            t_sent = time.time()
            c.request("POST", P, body=json.dumps({"instances": [row], "key": f"user-{k}"}))
            r = c.getresponse()
            b = json.loads(r.read())
            with lock:
                if r.status == 200:
                    answers.append((b["model_version"], b["predictions"][0], time.time(), t_sent))
                else:
                    errors.append((r.status, b))
        except Exception as e:  # a failed request is a test failure, not a crash of the test
            with lock:
                errors.append(("exception", repr(e)))
            c = None


threads = [threading.Thread(target=client, args=(k,)) for k in range(3)]
for t in threads:
    t.start()
moves = []
for step in range(6):
    time.sleep(1.5)
    t_begin = time.time()  # the alias moves somewhere between t_begin and t_done
    if step % 2 == 0:
        run("registry", "promote", "house", "2", "production", "--registry", "reg")
    else:
        run("registry", "rollback", "house", "production", "--registry", "reg")
    moves.append(("2" if step % 2 == 0 else "1", t_begin, time.time()))
time.sleep(0.8)
stop.set()
for t in threads:
    t.join(timeout=20)
by_version = {}
for v, y, _, _ in answers:
    by_version.setdefault(v, set()).add(y)
check("no request failed during reloads", not errors, errors[:3])
check("answers came from both versions", set(by_version) == {"1", "2"}, by_version.keys())
check("each version gave exactly one answer to the fixed row", all(len(ys) == 1 for ys in by_version.values()), by_version)
check("the two versions answer differently", len({next(iter(ys)) for ys in by_version.values()}) == 2)
check("hundreds of requests under reload", len(answers) > 100, len(answers))
# After each move, answers switch within the polling period (0.2 s) plus the load (a
# margin of 1 s, for sanitizer builds on a loaded machine), and once the new version has
# answered, a request sent after that is never answered by the old one. (Times are the
# client's: a request's sending time, and the time its answer was read.)
for (v, _, t_move), nxt in zip(moves, moves[1:] + [(None, time.time(), None)]):
    # requests sent once this move was done, answered before the next one began
    window = [(av, t, ts) for av, _, t, ts in answers if t_move < ts and t < nxt[1]]
    first_new = min((t for av, t, _ in window if av == v), default=None)
    check(f"move to version {v}: answered by it", first_new is not None)
    if first_new is None:
        continue
    check(f"move to version {v}: switched within the poll period plus the load", first_new - t_move < 1.2,
          f"{first_new - t_move:.2f} s")
    late = [ts for av, _, ts in window if av != v and ts > first_new]
    check(f"move to version {v}: no request sent after the switch is answered by the old version", not late,
          f"{len(late)} late answers, move at {t_move:.3f}, first new {first_new:.3f}, late {[round(t, 3) for t in late[:5]]}")
s, metrics = srv.request("GET", "/metrics")
check("reloads counted", 'mlops_serving_reloads_total{model="house",alias="production",role="champion"} 6' in metrics,
      [l for l in metrics.splitlines() if "reloads_total{" in l])

# --- a real Prometheus scrapes the server
prom = shutil.which("prometheus")
if prom:
    with socket.socket() as s0:
        s0.bind(("127.0.0.1", 0))
        pport = s0.getsockname()[1]
    with open("prometheus.yml", "w") as f:
        f.write(f"global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: mlops\n"
                f"    static_configs:\n      - targets: ['127.0.0.1:{srv.port}']\n")
    pp = subprocess.Popen([prom, "--config.file=prometheus.yml", "--storage.tsdb.path=tsdb",
                           f"--web.listen-address=127.0.0.1:{pport}"], stdout=subprocess.DEVNULL,
                          stderr=open("prometheus.log", "w"))
    want = {"mlops_serving_requests_total": False, "mlops_serving_request_duration_seconds_bucket": False,
            "mlops_drift_window_rows": False}
    t0 = time.time()
    while time.time() - t0 < 60 and not all(want.values()):
        time.sleep(1)
        for q in want:
            if want[q]:
                continue
            try:
                c = http.client.HTTPConnection("127.0.0.1", pport, timeout=5)
                c.request("GET", "/api/v1/query?query=" + urllib.parse.quote(q))
                b = json.loads(c.getresponse().read())
                want[q] = b.get("status") == "success" and len(b["data"]["result"]) > 0
            except (OSError, ValueError):
                pass
    pp.terminate()
    pp.wait(timeout=30)
    for q, ok in want.items():
        check(f"Prometheus ingested {q}", ok, open("prometheus.log").read()[-2000:] if not ok else "")
else:
    print("SKIP: prometheus is not installed (apt install prometheus): the scrape test did not run")

rc = srv.stop()
check("SIGTERM: exit 0", rc == 0, rc)
log = open("serve.err").read()
check("the log names the reloads with both versions", "reloaded version 1 -> 2" in log and "reloaded version 2 -> 1" in log)

# --- a model file, served and reloaded when it changes
run("train", data, "--target", "price", "--impute", "median", "--out", "file.mlops")
f = Server("file.mlops", "--poll", "0.2")
s, b = f.request("POST", "/v1/models/file:predict", {"instances": [row]})
check("serve MODEL.mlops", s == 200 and b["model_version"] == "1", b)
time.sleep(1.1)
run("train", data, "--target", "price", "--impute", "mean", "--model", "ridge", "--alpha", "100", "--out", "file.mlops")
t0 = time.time()
while time.time() - t0 < 5:
    s, b = f.request("POST", "/v1/models/file:predict", {"instances": [row]})
    if s == 200 and b["model_version"] == "2":
        break
    time.sleep(0.1)
check("a rewritten model file is reloaded", s == 200 and b["model_version"] == "2", b)
check("file server: SIGTERM exit 0", f.stop() == 0)

# --- signed models: only versions signed by a trusted key serve; an unsigned or tampered
# version never replaces the one serving; a version signed after its promotion is taken.
if "keygen" in subprocess.run([mlops, "--help"], capture_output=True, text=True).stdout:
    run("keygen", "release")
    run("keygen", "other")
    run("sign", "--registry", "reg", "--model", "house", "--version", "1", "--key", "release.key")
    out = run("verify", "--registry", "reg", "--model", "house", "--version", "1", "--trusted-key", "release.pub")
    check("verify names the version and the key", "version 1" in out and "signed by key" in out, out)
    r = subprocess.run([mlops, "verify", "--registry", "reg", "--model", "house", "--version", "2", "--trusted-key", "release.pub"],
                       capture_output=True, text=True, timeout=60)
    check("verify of an unsigned version fails with signature.missing", r.returncode != 0 and "signature.missing" in r.stderr, r.stderr)
    run("registry", "promote", "house", "1", "production", "--registry", "reg")
    g = Server("--registry", "reg", "--model", "house", "--poll", "0.2", "--trusted-key", "release.pub")
    s, b = g.request("POST", P, {"instances": [row]})
    check("signed: version 1 serves", s == 200 and b["model_version"] == "1", b)
    run("registry", "promote", "house", "2", "production", "--registry", "reg")  # unsigned
    time.sleep(1.0)
    s, b = g.request("POST", P, {"instances": [row]})
    check("an unsigned version never replaces the signed one", s == 200 and b["model_version"] == "1", b)
    s, b = g.request("GET", "/v1/models/house")
    err = b["model_version_status"][0]["status"]["error_message"] if s == 200 else ""
    check("the status names the refusal", "not signed" in err, b)
    run("sign", "--registry", "reg", "--model", "house", "--version", "2", "--key", "other.key")  # an untrusted key
    time.sleep(1.0)
    s, b = g.request("POST", P, {"instances": [row]})
    check("a version signed by an untrusted key is refused", s == 200 and b["model_version"] == "1", b)
    run("sign", "--registry", "reg", "--model", "house", "--version", "2", "--key", "release.key")
    t0 = time.time()
    while time.time() - t0 < 5:
        s, b = g.request("POST", P, {"instances": [row]})
        if s == 200 and b["model_version"] == "2":
            break
        time.sleep(0.1)
    check("signed after its promotion: version 2 serves", s == 200 and b["model_version"] == "2", b)
    check("signed server: SIGTERM exit 0", g.stop() == 0)
    log = open("serve.err").read()
    check("the log names the untrusted key", "not trusted" in log, log[-1500:])
    # A signed model file; tampering after signing is refused.
    run("sign", "file.mlops", "--key", "release.key")
    out = run("verify", "file.mlops", "--trusted-key", "release.pub")
    check("verify a model file", "verified 'file.mlops'" in out, out)
    with open("file.mlops", "r+b") as fh:
        fh.seek(60)
        c = fh.read(1)
        fh.seek(60)
        fh.write(bytes([c[0] ^ 1]))
    r = subprocess.run([mlops, "verify", "file.mlops", "--trusted-key", "release.pub"], capture_output=True, text=True, timeout=60)
    check("a tampered model file fails verification", r.returncode != 0 and "signature.invalid" in r.stderr, r.stderr)
else:
    print("SKIP: this mlops was built without libsodium (libsodium-dev): the signing tests did not run")

print(f"serve: {passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
