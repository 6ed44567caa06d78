#!/usr/bin/env python3
"""Every metric a PromQL query names must exist: the queries of a Grafana dashboard (panels,
templating) and of Prometheus rule files, against the metric names of a live /metrics text.

usage: promql_names.py METRICS.txt FILE...   (FILE: *.json dashboard or *.yml rules)
Prints one line per unknown name (with where it is used) and exits 1, or prints "ok"."""
import json
import re
import sys

import yaml

# PromQL words that are not metric names; Prometheus's own series.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "bool", "offset", "inf", "nan", "le"}
BUILTIN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


def metric_names(text):
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


def names_in(expr):
    expr = re.sub(r'"(\\.|[^"\\])*"', '""', expr)          # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)                   # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)                  # ranges
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\$\{?\w+\}?", "", expr)                 # dashboard variables
    found = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", expr):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in KEYWORDS or re.fullmatch(r"\d+[smhdwy]", word):
            continue
        found.add(word)
    return found


def queries(path):
    if path.endswith(".json"):
        d = json.load(open(path))
        for p in d.get("panels", []):
            for t in p.get("targets", []):
                yield "panel '%s'" % p["title"], t["expr"]
        for v in d.get("templating", {}).get("list", []):
            q = v.get("query")
            if isinstance(q, dict):
                q = q.get("query")
            if v.get("type") == "query" and q:
                yield "variable '%s'" % v["name"], re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", q)
    else:
        for g in yaml.safe_load(open(path))["groups"]:
            for r in g["rules"]:
                yield "rule '%s'" % r.get("alert", r.get("record")), r["expr"]


def main():
    known = metric_names(open(sys.argv[1]).read()) | BUILTIN
    problems, n = [], 0
    for path in sys.argv[2:]:
        for where, expr in queries(path):
            n += 1
            for name in sorted(names_in(expr) - known):
                problems.append("%s: %s uses '%s', which tinchapd does not expose" % (path, where, name))
    if n == 0:
        problems.append("no queries found")
    print("\n".join(problems) or "ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
