"""The report's section on where tinchapd's CPU time goes: the perf profile of a Score load by
part and by thread, and the same profile under the no-op set beside it, per call, so that what
a Score costs over the floor is told apart by part."""

from report_fmt import rps, us


def per_call(prof, load):
    """µs of server CPU per call by part: each part's share of the samples times the CPU per call
    measured over the same load (None when either is missing)."""
    cpu = load.get("server_cpu_us_per_call") if load else None
    if not prof or not cpu:
        return None
    out = {k: v / 100.0 * cpu for k, v in prof["percent"].items()}
    for k, v in (prof.get("kernel_percent") or {}).items():
        out["kernel: " + k] = v / 100.0 * cpu
    out["total"] = cpu
    return out


def score_over_noop(d):
    """[(part, no-op µs, Score µs, difference)] largest difference first, the total last; or
    None when either profile is missing."""
    a, b = per_call(d.prof_noop, d.prof_noop_load), per_call(d.prof, d.prof_load)
    if not a or not b:
        return None
    parts = [k for k in b if k != "total" and not k.startswith("kernel: ")]
    rows = sorted(((k, a.get(k, 0.0), b[k], b[k] - a.get(k, 0.0)) for k in parts),
                  key=lambda r: -r[3])
    kernel = [(k, a.get(k, 0.0), b[k], b[k] - a.get(k, 0.0)) for k in b
              if k.startswith("kernel: ")]
    return rows, kernel, ("total", a["total"], b["total"], b["total"] - a["total"])


def per_call_section(w, d):
    """The Score's profile against the no-op's, per call."""
    cmp = score_over_noop(d)
    if not cmp:
        return
    rows, kernel, total = cmp
    w("### A Score against the no-op, per call")
    w("")
    w("The same profile taken under the no-op at c=16 right after the Score's, on the same "
      "server. Each part's share of the samples times the server CPU per call measured over "
      "that load (%s no-op calls/s, %s Score calls/s). The two loads are taken one after the "
      "other, so a change in this VM's speed between them falls on the difference, and with "
      "%d and %d samples a part under about 0.3 µs is within sampling noise." %
      (rps(d.prof_noop_load["throughput_rps"]), rps(d.prof_load["throughput_rps"]),
       d.prof_noop["total"], d.prof["total"]))
    w("")
    w("| part | no-op µs/call | Score µs/call | Score − no-op |")
    w("| --- | --- | --- | --- |")
    for k, a, b, diff in rows + kernel + [total]:
        name = "**total**" if k == "total" else k
        w("| %s | %.2f | %.2f | %+.2f |" % (name, a, b, diff))
    w("")


def profile_section(w, d):
    """Where the server's time goes."""
    prof, prof_load = d.prof, d.prof_load
    pth = d.prof_threads
    if prof or pth:
        w("## Where the server's time goes")
        w("")
        load_text = ("The load during the profile: %s calls/s, server CPU %s µs per call." %
                     (rps(prof_load["throughput_rps"]), us(prof_load.get("server_cpu_us_per_call")))
                     if prof_load else "")
        if prof:
            w("Method: `perf record -F 999 -p <tinchapd>` (Debian linux-perf; the software "
              "cpu-clock event, as this VM exposes no hardware counters) for the middle of a "
              "Score run at c=16, then every sample attributed by thread and shared object "
              "(`benchmarks/perf_split.py`, which documents the rules). %d samples. %s" %
              (prof["total"], load_text))
            w("")
            w("| part | share of server CPU |")
            w("| --- | --- |")
            for k, v in prof["percent"].items():
                w("| %s | %.1f %% |" % (k, v))
            w("")
            if prof.get("audit_thread"):
                w("The audit writer thread (tc-audit: %.1f %% of the server's samples) by what it "
                  "does: " % prof["threads"].get("tc-audit", 0) +
                  "; ".join("%s %.0f %%" % kv for kv in prof["audit_thread"].items()) + ".")
                w("")
            per_call_section(w, d)
        else:
            w("perf could not sample on this machine, so only each thread's CPU time is shown "
              "(from /proc over the same window; valgrind's callgrind cannot stand in, as the "
              "audit trail maps more address space than valgrind gives a process). Engine + "
              "store's share is then the in-process estimate in the targets. %s" % load_text)
            w("")
        if pth:
            w("By thread (CPU time from /proc over the same window): " +
              ", ".join("%s %.1f %%" % kv for kv in pth["threads"].items()) +
              ". tc-worker-N serve the calls and, in relaxed mode, write the audit journal "
              "themselves when no commit is under way; tc-audit writes what queued meanwhile "
              "(and everything in durable mode) and sends those replies; tc-audit-sync syncs "
              "the relaxed journal; tc-audit-apply moves the journal into the trail's tables "
              "every 10 ms and tc-audit-index indexes them by citizen every 250 ms, both off the "
              "reply path; the others are gRPC's own threads and the access-log writer.")
            w("")
