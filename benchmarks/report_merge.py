"""report.py --merge: the slices of one loadgen point (benchmarks/run measures the floor and
Score alternating in slices) merged into one result, percentiles from every sample."""
import json
import math
import os


def quantile(v, p):
    """gsl_stats_quantile_from_sorted_data's definition: linear between order statistics."""
    x = (len(v) - 1) * p
    i = int(math.floor(x))
    return v[i] if i + 1 >= len(v) else v[i] + (v[i + 1] - v[i]) * (x - i)


def merge(raw, name, samples_name, n):
    """NAME.s1.json .. NAME.sN.json (loadgen, one point run in N slices) into NAME.json in the
    same form, percentiles from all the slices' samples together; the slice files go."""
    parts = [json.load(open(os.path.join(raw, "%s.s%d.json" % (name, i))))
             for i in range(1, n + 1) if os.path.exists(os.path.join(raw, "%s.s%d.json" % (name, i)))]
    if not parts:
        raise SystemExit("report.py --merge: no slices of " + name)
    vals = []
    for i in range(1, n + 1):
        f = os.path.join(raw, "%s.s%d.txt" % (samples_name, i))
        if os.path.exists(f):
            with open(f) as fh:
                vals += [float(x) for x in fh if x.strip()]
            os.remove(f)
    vals.sort()
    out = dict(parts[0])
    out["label"] = name
    out["slices"] = len(parts)
    out["duration_s"] = sum(p["duration_s"] for p in parts)
    calls = [p["throughput_rps"] * p["duration_s"] for p in parts]
    total = sum(calls) or 1
    out["throughput_rps"] = round(total / out["duration_s"], 1)
    for k in ("requests", "ok", "errors_total"):
        out[k] = sum(p[k] for p in parts)
    errs = {}
    for p in parts:
        for k, v in p["errors"].items():
            errs[k] = errs.get(k, 0) + v
    out["errors"] = errs
    out["first_error"] = next((p["first_error"] for p in parts if p["first_error"]), "")
    for k in ("client_cpu_us_per_call", "server_cpu_us_per_call"):
        if all(k in p for p in parts):
            out[k] = round(sum(p[k] * c for p, c in zip(parts, calls)) / total, 2)
    if all("reload" in p for p in parts):  # ReloadModels alongside: counts summed, the worst kept
        rs = [p["reload"] for p in parts]
        meds = sorted(r["p50_us"] for r in rs if "p50_us" in r)  # the median slice's median
        maxes = [r["max_us"] for r in rs if "max_us" in r]
        out["reload"] = {"every_ms": rs[0]["every_ms"], "ok": sum(r["ok"] for r in rs),
                         "failed": sum(r["failed"] for r in rs),
                         "first_error": next((r["first_error"] for r in rs if r["first_error"]), "")}
        if meds:
            out["reload"].update(p50_us=meds[len(meds) // 2], max_us=max(maxes))
    if all("server_cpu_cores" in p for p in parts):
        out["server_cpu_cores"] = round(sum(p["server_cpu_cores"] * p["duration_s"]
                                            for p in parts) / out["duration_s"], 3)
    if vals:
        out["latency_us"] = {"samples": len(vals), "min": vals[0],
                             "mean": round(sum(vals) / len(vals), 1),
                             "p50": quantile(vals, 0.5), "p90": quantile(vals, 0.9),
                             "p99": quantile(vals, 0.99), "p999": quantile(vals, 0.999),
                             "max": vals[-1]}
        with open(os.path.join(raw, samples_name + ".txt"), "w") as fh:
            fh.write("".join("%.1f\n" % x for x in vals))
    else:
        out["latency_us"] = None
    with open(os.path.join(raw, name + ".json"), "w") as fh:
        json.dump(out, fh)
    for i in range(1, n + 1):
        f = os.path.join(raw, "%s.s%d.json" % (name, i))
        if os.path.exists(f):
            os.remove(f)
