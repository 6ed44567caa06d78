#!/usr/bin/python3
"""Writes benchmarks/RESULTS.md and the latency CDF chart from the raw results of one
benchmarks/run (JSON from loadgen, bench_engine, bench_store, chase, perf_split.py; text from
h2load, tinchap load and bench_train.sh), so the page is always complete and consistent with
one run. Every target is reported as a ratio measured in that run, with MET or MISSED and, where
missed, what the measurements say about why and what would close it.

  report.py --raw DIR --src REPO --out RESULTS.md --svg latency-cdf.svg
  report.py --merge DIR NAME SAMPLES N     (benchmarks/run: one point's slices into one)

The page is gather() (the raw results, read once), compute_targets(), then one function per
section; the notes on missed targets and the consent feed's section are report_notes.py's,
the chart report_chart.py's, the number formats report_fmt.py's, --merge report_merge.py's.
"""
import argparse
import glob
import json
import math
import os
import re
import subprocess
import types

from report_chart import svg_cdf
from report_fmt import errors, fmt_ratio, lat, ratio, rps, us, verdict
from report_merge import merge
from report_notes import closing_notes, feed_section, feed_targets
from report_profile import profile_section

ARGS = None
RAW = ""


def load(name):
    path = os.path.join(RAW, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def text(name):
    path = os.path.join(RAW, name)
    if not os.path.exists(path):
        return None
    with open(path, errors="replace") as f:
        return f.read()


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine():
    cpu = sh("sh", "-c", "lscpu | sed -n 's/^Model name: *//p' | head -1")
    cores = os.cpu_count()
    mem = ""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1048576)
    virt = sh("sh", "-c", "lscpu | sed -n 's/^Hypervisor vendor: *//p' | head -1")
    return {"cpu": cpu, "cores": cores, "memory": mem, "kernel": sh("uname", "-sr"),
            "os": sh("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"),
            "virt": ("a %s virtual machine" % virt) if virt else "bare metal",
            "host": sh("hostname")}


def commit(src):
    c = sh("git", "-C", src, "rev-parse", "--short=12", "HEAD")
    dirty = sh("git", "-C", src, "status", "--porcelain", "--untracked-files=no")
    return c + (" with local changes" if dirty else "") if c else "unknown"


# ---- h2load ----

def h2load(c):
    out, logf = text("h2load-c%d.txt" % c), os.path.join(RAW, "h2load-c%d.log" % c)
    if out is None or not os.path.exists(logf):
        return None
    m = re.search(r"finished in [\d.]+s, ([\d.]+) req/s", out)
    req = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed",
                    out)
    vals = []
    with open(logf) as f:
        for line in f:
            parts = line.split("\t")
            if len(parts) >= 3 and parts[1] == "200":
                vals.append(float(parts[2]))
    if not vals:
        return None
    vals.sort()
    n = len(vals)

    def q(p):  # same definition as gsl_stats_quantile_from_sorted_data
        x = (n - 1) * p
        i = int(math.floor(x))
        return vals[i] if i + 1 >= n else vals[i] + (vals[i + 1] - vals[i]) * (x - i)
    return {"throughput_rps": float(m.group(1)) if m else None,
            "failed": int(req.group(4)) if req else None,
            "latency_us": {"p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "p999": q(0.999),
                           "max": vals[-1], "mean": sum(vals) / n, "samples": n}}


# ---- the CDF chart's samples (the chart: report_chart.py) ----

def samples(name):
    path = os.path.join(RAW, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        v = [float(x) for x in f if x.strip()]
    return v or None


# ---- the page ----

def carry(w, name, quick):
    """A section kept beside this script (written by hand or by another benchmark), carried into
    a full run's page as it is."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    if quick or not os.path.exists(path):
        return
    with open(path) as f:
        for line in f.read().rstrip("\n").split("\n"):
            w(line)
    w("")


def gather():
    """Everything the page reports, read from the raw results once: the local names below are
    the fields of the namespace every section reads."""
    run = load("run.json") or {}
    quick = run.get("mode") == "quick"
    main_n = run.get("main_n", "1M")
    big_n = run.get("big_n", "10M")
    mc = machine()

    conc = sorted(int(re.search(r"c(\d+)\.json$", f).group(1))
                  for f in glob.glob(os.path.join(RAW, "wire-score-c*.json")))
    wire = {c: (load("wire-noop-c%d.json" % c), load("wire-score-c%d.json" % c)) for c in conc}
    peer = {c: load("peer-score-c%d.json" % c) for c in conc}
    prof = load("profile.json")
    prof_load = load("profile-load.json")
    prof_noop = load("profile-noop.json")  # the same profile under the no-op
    prof_noop_load = load("profile-noop-load.json")
    prof_threads = load("profile-threads.json")
    durable16 = load("durable-score-c16.json")
    eng = load("engine-champion.json")
    eng25 = load("engine-bench25.json")
    engdb = load("engine-db-%s.json" % big_n)
    store = load("store-%s.json" % big_n)
    store_score = load("store-score-%s.json" % big_n)  # a Score's reads: consent and record
    chase = load("chase.json")
    alloc = load("alloc.json")
    c1, c16 = 1 if 1 in wire else None, 16 if 16 in wire else None
    s16 = wire.get(16, (None, None))[1]
    sc = {n: {c: load("scale-%s-score-c%d.json" % (n, c)) for c in (1, 16)}
          for n in ("100k", "1M", "10M")}
    if not any(sc[main_n].values()):  # --quick: the main points are the only size
        sc[main_n] = {c: wire.get(c, (None, None))[1] for c in (1, 16)}
    rl = load("reload-score-c16.json")
    loads = {}
    for what in ("consents", "population", "combined"):
        t = text("load-%s.txt" % what)
        if t:
            m = re.search(r"loaded in ([\d.]+) s \((\d+) rows/s\)", t)
            wall = re.search(r"wall ([\d.]+)", t)
            if m:
                loads[what] = {"seconds": float(m.group(1)), "rows_per_s": float(m.group(2)),
                               "wall": float(wall.group(1)) if wall else None}
    rows = (text("load-rows.txt") or "").split()
    n_pop = int(rows[0]) - 1 if rows else None
    n_cons = int(rows[1]) - 1 if len(rows) > 1 else None
    train = text("train.txt") or ""
    tm = re.search(r"run 1: ([\d.]+) s wall", train)
    lr = re.search(r"ratio\s+([\d.]+) x", train)
    rows_m = re.search(r"data: (\d+) rows", train)
    store_small = load("store-100k.json")  # the closing notes compare it with the large one
    store_score_small = load("store-score-100k.json")
    return types.SimpleNamespace(**locals())


def wire_targets(d, add):
    """The service's targets: Score against the floor, against the peer, CPU, scale, reloads."""
    c1, c16, conc, engdb, peer, prof, rl = d.c1, d.c16, d.conc, d.engdb, d.peer, d.prof, d.rl
    s16, sc, wire = d.s16, d.sc, d.wire
    for c in (c1, c16):
        if c is None:
            continue
        noop, score = wire[c]
        r50 = ratio(lat(score, "p50"), lat(noop, "p50"))
        r99 = ratio(lat(score, "p99"), lat(noop, "p99"))
        goal = 1.15 if c == 1 else 1.3
        add("Score p50 vs floor, c=%d" % c, "≤ %s×" % goal,
            "%s vs %s µs" % (us(lat(score, "p50")), us(lat(noop, "p50"))), fmt_ratio(r50),
            None if r50 is None else r50 <= goal, "p50")
        add("Score p99 vs floor, c=%d (relaxed audit)" % c, "≤ 2×",
            "%s vs %s µs" % (us(lat(score, "p99")), us(lat(noop, "p99"))), fmt_ratio(r99),
            None if r99 is None else r99 <= 2.0, "p99")
    best = max((wire[c][1]["throughput_rps"] for c in conc if wire[c][1]), default=None)
    best_peer = max((peer[c]["throughput_rps"] for c in conc if peer.get(c)), default=None)
    rt = ratio(best, best_peer)
    add("Throughput vs the Python peer (best of each over c = %s)" %
        ", ".join(str(c) for c in conc), "≥ 15×", "%s vs %s calls/s" % (rps(best), rps(best_peer)),
        fmt_ratio(rt), None if rt is None else rt >= 15, "peer")
    cpu_t = [wire[c][1].get("server_cpu_us_per_call") for c in conc if wire[c][1]]
    cpu_p = [peer[c].get("server_cpu_us_per_call") for c in conc if peer.get(c)]
    if cpu_t and cpu_p and all(cpu_t) and all(cpu_p):
        ct, cp = min(cpu_t), min(cpu_p)
        add("Server CPU per Score vs the Python peer (context: calls per CPU-second; least of "
            "each)", "—", "%s vs %s µs" % (us(ct), us(cp)), fmt_ratio(cp / ct), None, None)
    if prof:
        es = prof["engine_plus_store_percent"]
        add("Engine + store share of server CPU (%s profile, Score c=16; every LMDB sample on "
            "the workers counts as store, so an upper bound)" % prof["tool"], "< 10 %",
            "%.1f %% (engine %.1f %%, store %.1f %%)" % (es, prof["percent"]["engine"],
                                                        prof["percent"]["store"]),
            "%.2f of the budget" % (es / 10), es < 10, "cpu")
    if engdb and s16 and s16.get("server_cpu_us_per_call"):
        share = engdb["median_ns"] / 1000 / s16["server_cpu_us_per_call"] * 100
        add("Engine + store, in-process time / server CPU per call (c=16)", "< 10 %",
            "%.2f µs of %.1f µs" % (engdb["median_ns"] / 1000, s16["server_cpu_us_per_call"]),
            "%.1f %%" % share, share < 10, "cpu")
    for c in (1, 16):
        a, b = sc["100k"].get(c), sc["10M"].get(c)
        r = ratio(lat(b, "p50"), lat(a, "p50"))
        add("Score p50 at 10 M vs 100 k citizens, c=%d" % c, "≤ 1.10×",
            "%s vs %s µs" % (us(lat(b, "p50")), us(lat(a, "p50"))) if r else "not measured (--quick)",
            fmt_ratio(r), None if r is None else r <= 1.10, "scale")
    if rl and s16:
        r = ratio(lat(rl, "p99"), lat(s16, "p99"))
        add("Score p99 with ReloadModels every 100 ms vs without, c=16",
            "no noticeable move (≤ 1.1×)", "%s vs %s µs (%d reloads)" %
            (us(lat(rl, "p99")), us(lat(s16, "p99")), rl.get("reload", {}).get("ok", 0)),
            fmt_ratio(r), None if r is None else r <= 1.1, "reload")


def audit_targets(d, add):
    """The audit trail's cost: server CPU per Score against the no-op's, the durable mode
    against the floor plus one fdatasync measured in the same run, durable against relaxed
    throughput, and the store's random lookup against this machine's memory latency."""
    wire, chase, store, store_score = d.wire, d.chase, d.store, d.store_score
    d1, d16, fsync = load("durable-score-c1.json"), load("durable-score-c16.json"), \
        load("fdatasync.json")
    n16, s16 = wire.get(16, (None, None))
    if n16 and s16 and n16.get("server_cpu_us_per_call") and s16.get("server_cpu_us_per_call"):
        r = s16["server_cpu_us_per_call"] / n16["server_cpu_us_per_call"]
        add("Server CPU per Score vs per no-op, c=16", "≤ 1.6×",
            "%s vs %s µs" % (us(s16["server_cpu_us_per_call"]), us(n16["server_cpu_us_per_call"])),
            fmt_ratio(r), r <= 1.6, "cpu16")
    n1 = wire.get(1, (None, None))[0]
    if d1 and n1 and fsync and lat(d1, "p50") is not None and lat(n1, "p50") is not None:
        bound = (lat(n1, "p50") + fsync["p50_us"]) * 1.2
        add("Score p50 with the audit trail durable, c=1, vs (floor + one fdatasync) + 20 %",
            "≤ 1×", "%s vs (%s + %s) × 1.2 = %s µs" %
            (us(lat(d1, "p50")), us(lat(n1, "p50")), us(fsync["p50_us"]), us(bound)),
            fmt_ratio(lat(d1, "p50") / bound), lat(d1, "p50") <= bound, "durable")
    if d16 and s16:
        r = d16["throughput_rps"] / s16["throughput_rps"]
        add("Throughput with the audit trail durable vs relaxed, c=16", "≥ 0.6",
            "%s vs %s calls/s" % (rps(d16["throughput_rps"]), rps(s16["throughput_rps"])),
            "%.2f" % r, r >= 0.6, "durable")
    if chase and store and chase.get("ns_per_access"):
        r = store["p50_ns"] / chase["ns_per_access"]
        add("Random lookup + decode (bench_store) vs one dependent random memory access "
            "(the pointer chase), same run", "≤ 3.5", "%.0f vs %.0f ns" %
            (store["p50_ns"], chase["ns_per_access"]), "%.1f" % r, r <= 3.5, "chase")
    if chase and store_score and chase.get("ns_per_access"):
        r = store_score["p50_ns"] / chase["ns_per_access"]
        add("A Score's database reads: consent + record + decode (bench_store --institution) vs "
            "one dependent random memory access, same run", "≤ 3.5", "%.0f vs %.0f ns" %
            (store_score["p50_ns"], chase["ns_per_access"]), "%.1f" % r, r <= 3.5, "chase")


def in_process_targets(d, add):
    """The targets of the engine, the store, loading and training, measured in process."""
    alloc, big_n, eng, eng25, engdb, loads = d.alloc, d.big_n, d.eng, d.eng25, d.engdb, d.loads
    lr, main_n, n_pop, rows_m, store, tm = d.lr, d.main_n, d.n_pop, d.rows_m, d.store, d.tm
    if "combined" in loads and n_pop:
        cps = n_pop / loads["combined"]["seconds"]
        add("tinchap load, citizens/s with their consents (one command, %s citizens)" % main_n,
            "≥ 500 k/s", "{:,.0f} citizens/s".format(cps), "%.2f×" % (cps / 5e5), cps >= 5e5,
            "load")
    if "population" in loads and n_pop:
        pps = n_pop / loads["population"]["seconds"]
        add("tinchap load, population file alone (consents already loaded)", "≥ 500 k/s",
            "{:,.0f} citizens/s".format(pps), "%.2f×" % (pps / 5e5), pps >= 5e5, "load")
    if store:
        v = store["p50_ns"] / 1000
        add("Random lookup + decode, warm, %s database (bench_store, median)" % big_n, "≤ 1 µs",
            "%.2f µs" % v, "%.2f×" % v, v <= 1.0, "store")
    if eng25:
        add("Evaluate a 25-characteristic scorecard, 4 reasons, PD interval (median)", "≤ 300 ns",
            "%.0f ns" % eng25["median_ns"], "%.2f×" % (eng25["median_ns"] / 300),
            eng25["median_ns"] <= 300, "engine")
    if eng:
        add("Evaluate the champion (%s v%d, %d characteristics), median" %
            (eng["model"], eng["version"], eng["characteristics"]), "≤ 300 ns",
            "%.0f ns" % eng["median_ns"], "%.2f×" % (eng["median_ns"] / 300),
            eng["median_ns"] <= 300, "engine")
    if engdb:
        v = engdb["median_ns"] / 1000
        add("Lookup + decode + evaluate, %s database (bench_engine --db, median)" % big_n,
            "≤ 1.5 µs", "%.2f µs" % v, "%.2f×" % (v / 1.5), v <= 1.5, "store")
    if alloc:
        add("Heap allocations per evaluation (tests/unit/test_eval_alloc.c, run here)", "0",
            "0" if alloc["passed"] else "> 0", "—", alloc["passed"], None)
    if tm:
        v = float(tm.group(1))
        n = int(rows_m.group(1)) if rows_m else 0
        add("tinchap train, %s rows × 24 attributes, end to end" % "{:,}".format(n), "≤ 20 s",
            "%.1f s" % v, "%.2f×" % (v / 20), v <= 20 if n >= 1000000 else None, "train")
    if lr:
        v = float(lr.group(1))
        add("Logistic fit vs statsmodels, same data", "≥ 3×", "%.1f× faster" % v, "%.2f×" % v,
            v >= 3, "train")


def compute_targets(d):
    """(what, target, measured, ratio text, ok, note key) for each target."""
    targets = []

    def add(what, goal, measured, r, ok, why=None):
        targets.append((what, goal, measured, r, ok, why))

    wire_targets(d, add)
    audit_targets(d, add)
    in_process_targets(d, add)
    return targets


def header_section(w, d):
    """How to reproduce the page, and the run it reports."""
    main_n, mc, quick, run = d.main_n, d.mc, d.quick, d.run
    w("# tinchap benchmark results")
    w("")
    w("Reproduce everything on this page with one command from a clone (as root on Debian 12):")
    w("")
    w("```sh")
    w("benchmarks/run            # full run, under 20 min: rewrites this file and latency-cdf.svg")
    w("benchmarks/run --quick    # CI smoke, under 2 min: writes benchmarks/out/quick/ only")
    w("```")
    w("")
    w("It installs what is missing, builds in Release, synthesises and loads the databases "
      "(cached under `/var/tmp/tinchap-bench`), runs every measurement below and writes this page "
      "with `benchmarks/report.py` from the raw results (kept in `benchmarks/out/`). Targets are "
      "goals, reported as ratios measured in the same run, never as timed tests.")
    w("")
    if quick:
        w("> **This is a `--quick` run**: %s citizens, %s s per point, fewer points, no 10 M "
          "database; its figures only show that the harness works." % (main_n, run.get("duration_s")))
        w("")
    w("| run | |")
    w("| --- | --- |")
    w("| date | %s |" % run.get("started", "?"))
    # the code measured, as the run recorded it at its start (a report rewritten later from the
    # same raw results still names it); older raw results fall back to the tree's commit now
    w("| commit | %s |" % run.get("commit", commit(ARGS.src)))
    w("| machine | %s, %s cores (%s), %s RAM, %s, %s |" %
      (mc["cpu"], mc["cores"], mc["virt"], mc["memory"], mc["kernel"], mc["os"]))
    w("| load average at start | %s |" % run.get("loadavg_at_start", "?"))
    w("| run time | %s s, %d failure(s) |" % (run.get("seconds", "?"), run.get("failures", 0)))
    w("| model | %s (the champion in `models/`) |" % os.path.basename(run.get("champion", "?")))
    w("")


def targets_section(w, d, targets):
    """The targets, their verdicts, and why where missed."""
    quick = d.quick
    targets += feed_targets(load("feed.json"))
    w("## Targets")
    w("")
    w("| what | target | measured | ratio | |")
    w("| --- | --- | --- | --- | --- |")
    for what, goal, measured, r, ok, _ in targets:
        w("| %s | %s | %s | %s | %s |" % (what, goal, measured, r, verdict(ok)))
    w("")
    notes = closing_notes(targets, d)
    if notes:
        w("### Where a target is missed: why, and what would close it")
        w("")
        for n in notes:
            w("- " + n)
        w("")
    # before and after of the changes made for these targets, measured interleaved with
    # benchmarks/ab (two builds at once): kept by hand beside this script, carried into the page
    carry(w, "before-after.md", quick)


def wire_section(w, d):
    """Score against the no-op floor over the wire, and h2load's cross-check."""
    conc, main_n, mc, run, wire = d.conc, d.main_n, d.mc, d.run, d.wire
    w("## Over the wire: Score against the no-op floor")
    w("")
    w("Method: `benchmarks/loadgen` (C, gRPC core through `api/tc_client.h`), closed loop at each "
      "concurrency for %s s in all (the floor and Score alternating in slices of equal "
      "length, each after %s s of warm-up, percentiles over all slices), one client thread "
      "with its own connection "
      "(the machine has %s cores, shared by the client and the server: a second client thread "
      "only takes CPU from the server). Each Score names a citizen drawn uniformly at random "
      "from every citizen with a bank-a consent valid now in the %s-citizen database, with a "
      "unique request ID, and its answer is checked on the fly (echoed request ID, a grade, "
      "not a replay). The floor is `/tinchap.v1.Diagnostics/Noop` on the same `tinchapd` "
      "process, threads and slots, authenticated as Score is (the scorer's token). Server: 2 workers, audit relaxed, plaintext with a bearer "
      "token on 127.0.0.1 (the service, not TLS; mTLS below), access log on (to a file). "
      "Percentiles from every sample (GSL). CPU per call is the process's user+system time "
      "over the window divided by the calls completed. Caution at c=1: on this VM the round "
      "trip of a single call is bimodal (the no-op floor measured about 30 µs p50 in some runs "
      "of the same day and about 100 µs in others, apparently with the machine's background "
      "load and how fast idle vCPUs wake), so compare c=1 figures within one run only, and "
      "prefer a quiet machine." %
      (run.get("duration_s"), run.get("warmup_s"), mc["cores"], main_n))
    w("")
    w("| method | c | calls/s | p50 µs | p90 | p99 | p99.9 | max | errors | server CPU µs/call "
      "| client CPU µs/call |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for c in conc:
        for name, d in (("no-op", wire[c][0]), ("Score", wire[c][1])):
            if d is None:
                w("| %s | %d | not run | | | | | | | | |" % (name, c))
                continue
            w("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" %
              (name, c, rps(d["throughput_rps"]), us(lat(d, "p50")), us(lat(d, "p90")),
               us(lat(d, "p99")), us(lat(d, "p999")), us(lat(d, "max")), errors(d),
               us(d.get("server_cpu_us_per_call")), us(d.get("client_cpu_us_per_call"))))
    w("")
    w("| c | p50 Score/floor | p99 Score/floor | throughput Score/floor | extra server CPU per "
      "Score |")
    w("| --- | --- | --- | --- | --- |")
    for c in conc:
        n, s = wire[c]
        if n and s:
            w("| %d | %s | %s | %s | %s µs |" %
              (c, fmt_ratio(ratio(lat(s, "p50"), lat(n, "p50"))),
               fmt_ratio(ratio(lat(s, "p99"), lat(n, "p99"))),
               fmt_ratio(ratio(s["throughput_rps"], n["throughput_rps"])),
               us((s.get("server_cpu_us_per_call") or 0) - (n.get("server_cpu_us_per_call") or 0))))
    w("")
    w("![latency CDF](latency-cdf.svg)")
    w("")

    # h2load
    w("### Cross-check of the generator: h2load against the same no-op")
    w("")
    w("Method: `h2load` (Debian nghttp2-client), one connection, `-m c` streams, the same "
      "duration and warm-up, posting an empty gRPC-framed message (5-byte prefix) with "
      "`content-type: application/grpc` and `te: trailers`; percentiles from its per-request "
      "log. h2load is a lighter client than a gRPC stack, so on shared cores it leaves the "
      "server more CPU; the generator should agree within that margin.")
    w("")
    w("| client | c | calls/s | mean µs | p50 | p90 | p99 | max |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for c in conc:
        h = h2load(c)
        if h is None:
            continue
        n = wire[c][0]
        if n:
            w("| loadgen | %d | %s | %s | %s | %s | %s | %s |" %
              (c, rps(n["throughput_rps"]), us(lat(n, "mean")), us(lat(n, "p50")),
               us(lat(n, "p90")), us(lat(n, "p99")), us(lat(n, "max"))))
        w("| h2load | %d | %s | %s | %s | %s | %s | %s |" %
          (c, rps(h["throughput_rps"]), us(h["latency_us"]["mean"]), us(h["latency_us"]["p50"]),
           us(h["latency_us"]["p90"]), us(h["latency_us"]["p99"]), us(h["latency_us"]["max"])))
    w("")


def open_loop_section(w, d):
    """Score and the floor at fixed rates."""
    s16, wire = d.s16, d.wire
    opens = sorted(glob.glob(os.path.join(RAW, "open-score-r*.json")),
                   key=lambda f: int(re.search(r"r(\d+)", f).group(1)))
    if opens:
        w("### Open loop at fixed rates")
        w("")
        w("Method: calls due at fixed intervals (rates: fractions of the best closed-loop Score "
          "throughput above); latency measured from when each call was due, so a call that "
          "waits for a free slot or a slow server counts its wait (no coordinated omission). "
          "At most 1024 outstanding. The generator's sender thread wakes for every call, so it "
          "takes more client CPU per call than the closed loop.")
        w("")
        w("| method | rate/s | achieved/s | p50 µs | p90 | p99 | p99.9 | max | errors | late "
          "(backlog max) | server CPU µs/call | client CPU µs/call |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for f in opens:
            r = int(re.search(r"r(\d+)", f).group(1))
            for name, d in (("Score", load(os.path.basename(f))),
                            ("no-op", load("open-noop-r%d.json" % r))):
                if d is None:
                    continue
                w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s | %s |" %
                  (name, rps(r), rps(d["throughput_rps"]), us(lat(d, "p50")), us(lat(d, "p90")),
                   us(lat(d, "p99")), us(lat(d, "p999")), us(lat(d, "max")), errors(d),
                   d.get("open_loop", {}).get("backlog_max", 0),
                   us(d.get("server_cpu_us_per_call")), us(d.get("client_cpu_us_per_call"))))
        w("")
        r0 = int(re.search(r"r(\d+)", opens[0]).group(1))
        fs, fn = load(os.path.basename(opens[0])), load("open-noop-r%d.json" % r0)
        n16 = wire.get(16, (None, None))[0]
        if fs and fn and s16 and n16 and all(d.get("server_cpu_us_per_call")
                                            for d in (fs, fn, s16, n16)):
            w("Evenly spaced calls cost more CPU per call than overlapping ones: at %s calls/s a "
              "Score took %s µs of server CPU and a no-op %s µs, against %s and %s µs in the "
              "closed loop at c=16. Calls that arrive one at a time each pay the wake-ups of an "
              "idle server (gRPC's pollers; for a Score also an audit commit of its own) instead "
              "of sharing them, and the generator pays a wake-up per call too (%s µs of client "
              "CPU per Score here). So on these shared cores the closed-loop maximum overstates "
              "what evenly spaced traffic can get, and the open-loop tails show where the "
              "two cores run out." %
              (rps(r0), us(fs["server_cpu_us_per_call"]), us(fn["server_cpu_us_per_call"]),
               us(s16["server_cpu_us_per_call"]), us(n16["server_cpu_us_per_call"]),
               us(fs.get("client_cpu_us_per_call"))))
            w("")


def configs_section(w, d):
    """Audit durable vs relaxed, 1 vs 2 workers, mutual TLS, reloads."""
    rl, s16 = d.rl, d.s16
    w("## Server configurations: audit durable vs relaxed, 1 vs 2 workers, mutual TLS")
    w("")
    w("Method: as above, the same database, a fresh `tinchapd` per configuration.")
    w("")
    w("| configuration | method | c | calls/s | p50 µs | p90 | p99 | max | errors | server CPU "
      "µs/call |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    cfgs = [("relaxed, 2 workers, plaintext", "wire-score-c%d.json", "Score"),
            ("durable, 2 workers, plaintext", "durable-score-c%d.json", "Score"),
            ("relaxed, 1 worker, plaintext", "w1-score-c%d.json", "Score"),
            ("relaxed, 1 worker, plaintext", "w1-noop-c%d.json", "no-op"),
            ("relaxed, 2 workers, mutual TLS", "tls-score-c%d.json", "Score"),
            ("relaxed, 2 workers, mutual TLS", "tls-noop-c%d.json", "no-op"),
            ("relaxed, 2 workers, plaintext", "wire-noop-c%d.json", "no-op")]
    for label, pat, meth in cfgs:
        for c in (1, 16):
            d = load(pat % c)
            if d is None:
                continue
            w("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |" %
              (label, meth, c, rps(d["throughput_rps"]), us(lat(d, "p50")), us(lat(d, "p90")),
               us(lat(d, "p99")), us(lat(d, "max")), errors(d), us(d.get("server_cpu_us_per_call"))))
    w("")
    tls, pl = load("tls-score-c16.json"), s16
    if tls and pl:
        w("TLS cost at c=16: Score p50 %s (%s µs vs %s µs), throughput %s, server CPU %s µs "
          "per call more." % (fmt_ratio(ratio(lat(tls, "p50"), lat(pl, "p50"))), us(lat(tls, "p50")),
                              us(lat(pl, "p50")),
                              fmt_ratio(ratio(tls["throughput_rps"], pl["throughput_rps"])),
                              us((tls.get("server_cpu_us_per_call") or 0) -
                                 (pl.get("server_cpu_us_per_call") or 0))))
        w("")
    if rl:
        rr = rl.get("reload", {})
        w("ReloadModels every 100 ms during Score c=16 (a background client loop, admin token): "
          "%d reloads, %d failed, a reload takes %s µs (median) and at most %s µs. Score p99 "
          "%s µs with reloads vs %s µs without (%s); p50 %s vs %s µs." %
          (rr.get("ok", 0), rr.get("failed", 0), us(rr.get("p50_us")), us(rr.get("max_us")),
           us(lat(rl, "p99")), us(lat(s16, "p99")) if s16 else "—",
           fmt_ratio(ratio(lat(rl, "p99"), lat(s16, "p99"))), us(lat(rl, "p50")),
           us(lat(s16, "p50")) if s16 else "—"))
        w("")


def peer_section(w, d):
    """tinchapd against the Python peer."""
    conc, main_n, peer, wire = d.conc, d.main_n, d.peer, d.wire
    w("## The Python peer")
    w("")
    pc = load("peer-check.json")
    w("Method: `benchmarks/peer/peer_server.py` — a grpcio server (Debian python3-grpcio, 16 "
      "handler threads) with stubs from the same protos, that looks the citizen and the consent "
      "up in an LMDB database (python3-lmdb, built once from the same CSV files), applies the "
      "same champion scorecard with numpy and returns the same ScoreResponse; no audit trail, no "
      "pseudonymisation, plaintext — less work than tinchapd. Measured by the same generator at "
      "the same concurrencies on the same %s citizens. Same answers: %s." %
      (main_n, "checked on %d random citizens, %d differences%s" %
       (pc["checked"], pc["mismatches"], (" (first: %s)" % pc["first_mismatch"])
        if pc["mismatches"] else "") if pc else "not checked"))
    w("")
    w("| c | tinchapd calls/s | peer calls/s | ratio | tinchapd p50 µs | peer p50 µs | "
      "tinchapd p99 | peer p99 | peer errors | peer CPU µs/call |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for c in conc:
        s, pr = wire[c][1], peer.get(c)
        if not pr:
            continue
        w("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" %
          (c, rps(s["throughput_rps"]) if s else "—", rps(pr["throughput_rps"]),
           fmt_ratio(ratio(s["throughput_rps"] if s else None, pr["throughput_rps"])),
           us(lat(s, "p50")), us(lat(pr, "p50")), us(lat(s, "p99")), us(lat(pr, "p99")),
           errors(pr), us(pr.get("server_cpu_us_per_call"))))
    w("")


def scale_section(w, d):
    """REST beside gRPC, then Score at each database size."""
    quick, sc = d.quick, d.sc
    # REST beside gRPC: measured by benchmarks/rest_vs_grpc, which writes its own section
    carry(w, "rest-vs-grpc.md", quick)

    w("## Scale: 100 k, 1 M and 10 M citizens")
    w("")
    w("Method: Score, closed loop, c=1 and c=16, one database of each size (synthesised with "
      "the same seed, loaded, then read once into the page cache: a serving replica is warm), "
      "one server on each, all three up at once and measured in turn (c=1 at each size, then "
      "c=16) so that drift in the machine's load does not fall between sizes; relaxed audit, 2 "
      "workers.")
    w("")
    w("| citizens | database | bytes/citizen | c | calls/s | p50 µs | p90 | p99 | errors |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in ("100k", "1M", "10M"):
        st = load("stats-%s.json" % n)
        for c in (1, 16):
            d = sc.get(n, {}).get(c)
            if d is None:
                continue
            w("| %s | %s | %s | %d | %s | %s | %s | %s | %s |" %
              (n, "%.2f GB" % (st["used_bytes"] / 1e9) if st else "—",
               "%.0f" % (st["used_bytes"] / st["citizens"]) if st else "—", c,
               rps(d["throughput_rps"]), us(lat(d, "p50")), us(lat(d, "p90")), us(lat(d, "p99")),
               errors(d)))
    w("")


def in_process_section(w, d):
    """Engine, store, load and training, in process."""
    alloc, big_n, chase, eng, eng25, engdb = d.alloc, d.big_n, d.chase, d.eng, d.eng25, d.engdb
    loads, lr, main_n, n_cons, n_pop, rows_m = d.loads, d.lr, d.main_n, d.n_cons, d.n_pop, d.rows_m
    store, store_score, tm, train = d.store, d.store_score, d.tm, d.train
    w("## In process: engine, store, load, training")
    w("")
    w("| what | figure | target | command |")
    w("| --- | --- | --- | --- |")
    if eng:
        w("| evaluate the champion %s v%d (%d characteristics, 4 reasons, PD interval), median "
          "| %.0f ns | ≤ 300 ns | `build-release/benchmarks/bench_engine` |" %
          (eng["model"], eng["version"], eng["characteristics"], eng["median_ns"]))
    if eng25:
        w("| evaluate a 25-characteristic scorecard (benchmarks/unsecured-consumer-bench25.json), "
          "median | %.0f ns | ≤ 300 ns | `bench_engine --model benchmarks/unsecured-consumer-bench25.json` |"
          % eng25["median_ns"])
    if alloc:
        w("| heap allocations per evaluation | %s | 0 | `tests/unit/test_eval_alloc.c` (interposes "
          "malloc/calloc/realloc/free; thousands of evaluations add none) |" %
          ("0 (test passed in this run)" if alloc["passed"] else "NOT ZERO: test failed"))
    if store:
        w("| random lookup + decode of one citizen, warm, %s database (read txn renewed per "
          "lookup), median / p90 / p99 | %.2f / %.2f / %.2f µs | ≤ 1 µs median | "
          "`bench_store --db DIR --key FILE --ids population.csv` |" %
          (big_n, store["p50_ns"] / 1000, store["p90_ns"] / 1000, store["p99_ns"] / 1000))
        w("| B-tree depth of the citizen table (records and consents, store format %s), %s | %d | "
          "— | `tinchap stats --db DIR --json` |" % (store.get("format", 1), big_n, store["depth"]))
    if store_score:
        w("| a Score's reads: the consent and the record, found in one walk, the consent tested "
          "and the record decoded, warm, %s database, median / p90 / p99 | %.2f / %.2f / %.2f µs "
          "| — | `bench_store ... --institution bank-a` |" %
          (big_n, store_score["p50_ns"] / 1000, store_score["p90_ns"] / 1000,
           store_score["p99_ns"] / 1000))
    if engdb:
        w("| lookup + decode + evaluate, %s database, median | %.2f µs | ≤ 1.5 µs | "
          "`bench_engine --db DIR --key FILE --ids population.csv` |" % (big_n, engdb["median_ns"] / 1000))
    if chase:
        w("| context: one dependent random memory access over %d MB (pointer chase) | %.0f ns | "
          "— | `build-release/benchmarks/chase --mb %d` |" % (chase["mb"], chase["ns_per_access"],
                                                            chase["mb"]))
    for n in ("100k", "1M", "10M"):
        st = load("stats-%s.json" % n)
        if st:
            w("| database bytes per citizen, %s citizens (citizen table / whole file incl. "
              "consents) | %.0f / %.0f B | — | `tinchap stats --db DIR --json` |" %
              (n, st["bytes_per_citizen"], st["used_bytes"] / st["citizens"]))
    if loads and n_pop:
        for what, label in (("consents", "consents alone (%s rows)" % "{:,}".format(n_cons or 0)),
                            ("population", "population alone, consents already in (%s rows)" %
                             "{:,}".format(n_pop)),
                            ("combined", "both in one command (%s rows)" %
                             "{:,}".format(n_pop + (n_cons or 0)))):
            L = loads.get(what)
            if not L:
                continue
            if what == "consents":
                fig = "%.2f s: {:,.0f} rows/s".format(L["rows_per_s"]) % L["seconds"]
            elif what == "population":
                fig = "%.2f s: {:,.0f} citizens/s".format(n_pop / L["seconds"]) % L["seconds"]
            else:
                fig = ("%.2f s: {:,.0f} citizens/s, {:,.0f} rows/s".format(
                    n_pop / L["seconds"], L["rows_per_s"]) % L["seconds"])
            w("| `tinchap load`, %s citizens from CSV: %s | %s | ≥ 500 k citizens/s | "
              "`tinchap synth -n %s` then `tinchap load` (prints rows/s) |" %
              (main_n, label, fig, main_n))
    if tm:
        w("| `tinchap train`, %s rows × 24 attributes, end to end (binning, selection, fit, "
          "validation, report) | %.1f s | ≤ 20 s | `benchmarks/bench_train.sh build-release 1M 1` |"
          % (rows_m.group(1) if rows_m else "?", float(tm.group(1))))
    if lr:
        fit = re.search(r"tinchap tc_logit_fit\s+([\d.]+) s", train)
        sm = re.search(r"statsmodels Logit\s+([\d.]+) s", train)
        w("| logistic fit alone vs statsmodels Logit, same data | %s s vs %s s: %.1f× | ≥ 3× | "
          "`benchmarks/logit_vs_statsmodels.py` (in bench_train.sh) |" %
          (fit.group(1) if fit else "?", sm.group(1) if sm else "?", float(lr.group(1))))
    w("")


def write_svg(d):
    """The latency CDF chart."""
    svg_curves = []
    for c, dashed in ((16, False), (1, True)):
        for label, name, color in (("floor (no-op)", "samples-noop-c%d.txt", "#777777"),
                                   ("Score", "samples-score-c%d.txt", "#1f5fbf"),
                                   ("Python peer", "samples-peer-c%d.txt", "#d9822b")):
            v = samples(name % c)
            if v:
                svg_curves.append(("%s, c=%d" % (label, c), color, dashed, v))
    if svg_curves:
        svg_cdf(svg_curves, ARGS.svg)


def main():
    import sys
    if len(sys.argv) > 1 and sys.argv[1] == "--merge":
        merge(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        return
    global ARGS, RAW
    p = argparse.ArgumentParser()
    p.add_argument("--raw", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--svg", required=True)
    ARGS = p.parse_args()
    RAW = ARGS.raw
    d = gather()
    targets = compute_targets(d)
    md = []
    w = md.append
    header_section(w, d)
    targets_section(w, d, targets)
    wire_section(w, d)
    open_loop_section(w, d)
    configs_section(w, d)
    peer_section(w, d)
    scale_section(w, d)
    in_process_section(w, d)
    feed_section(w, load("feed.json"))
    profile_section(w, d)
    write_svg(d)
    with open(ARGS.out, "w") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
