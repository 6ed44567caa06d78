"""Formatting and arithmetic the benchmark report and its notes share: numbers as the page
prints them, ratios, and the latency figures of one loadgen result."""


def us(x):
    if x is None:
        return "—"
    return "%.0f" % x if x >= 100 else "%.1f" % x


def ms_or_us(x):
    if x is None:
        return "—"
    return "%.2f ms" % (x / 1000) if x >= 10000 else "%s µs" % us(x)


def rps(x):
    return "—" if x is None else "{:,.0f}".format(x)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "—" if r is None else "%.2f×" % r


def verdict(ok):
    return "—" if ok is None else ("**MET**" if ok else "**MISSED**")


def lat(d, k):
    if d is None or not d.get("latency_us"):
        return None
    return d["latency_us"].get(k)


def errors(d):
    if d is None:
        return "not run"
    if d["errors_total"] == 0:
        return "0"
    return ", ".join("%s %d" % kv for kv in d["errors"].items())
