"""The parts of the benchmark report that explain: the consent feed's targets and section, and
for each missed target what the run's measurements say about why and what would close it."""
from report_fmt import lat, ms_or_us, ratio, rps, us
from report_profile import score_over_noop


def feed_targets(feed):
    """Target rows of the consent feed: (what, goal, measured, ratio, ok, note)."""
    if not feed:
        return []
    rows = []
    for i, r in sorted(feed["replicas"].items()):
        rows.append(("Revocation-to-refusal p99, replica %s (%d revocations under Score load)" %
                     (i, feed["revocations"]), "≤ 1 s", "%.1f ms" % r["p99_ms"],
                     "%.3f×" % (r["p99_ms"] / 1000), r["p99_ms"] <= 1000, None))
    c = feed["catch_up"]
    rows.append(("Consent events applied per second, one replica", "≥ 20 k/s",
                 "%s/s" % rps(c["events_per_second"]), "%.2f×" % (c["events_per_second"] / 2e4),
                 c["events_per_second"] >= 2e4, None))
    return rows


def feed_section(w, feed):
    if not feed:
        return
    w("## The consent feed: three replicas and a real broker")
    w("")
    w("Method: `tests/cli/consent_feed.sh` with `TC_FEED_BENCH=N` (this run's step 7b): a "
      "redis-server on a Unix socket (append-only file, `appendfsync always`), a steward "
      "database and three tinchapd replicas started from snapshots of it (1 worker each, "
      "durable audit, `consent_max_lag_ms` 1000), all on this machine's cores with the "
      "broker and the client (and, when it runs on a shared machine, whatever else runs). A Python grpcio client (`tests/python/feed_test.py`) scores "
      "on every replica without pause on one thread each, and for each of N revocations: "
      "publishes a grant of a loaded citizen for bank-a, waits until all three replicas "
      "score it, then calls RevokeConsent on replica 1 and polls Score on replicas 1, 2, 3 "
      "in turn until each answers PERMISSION_DENIED. Revocation-to-refusal is from the "
      "RevokeConsent call (its durable audit commit, the publish and the local commit "
      "included) to that replica's first refusal; the round-robin polling from one Python "
      "thread adds up to a poll of the other replicas (about 1–3 ms) to each figure.")
    w("")
    w("| replica | p50 | p99 | max | mean |")
    w("| --- | --- | --- | --- | --- |")
    for i, r in sorted(feed["replicas"].items()):
        w("| %s%s | %.1f ms | %.1f ms | %.1f ms | %.1f ms |" %
          (i, " (the steward's node)" if i == "1" else "", r["p50_ms"], r["p99_ms"],
           r["max_ms"], r["mean_ms"]))
    w("")
    w("Score calls answered OK meanwhile by the background client: " +
      ", ".join("replica %s %s" % kv for kv in sorted(feed["score_ok_during"].items())) + ".")
    w("")
    c = feed["catch_up"]
    w("**Events applied per second.** Replica 2 stopped, %s events queued in the stream (grants "
      "and revocations, pipelined by the producer), replica 2 started: it applied %s of them "
      "(batches of 1 000 events, one durable LMDB commit per batch) and answered SERVING "
      "%.2f s after it was started (process start, TLS set-up and model load included): "
      "**%s events/s**. The stream held %s entries in %s bytes of the broker's memory "
      "(%.0f bytes an entry, `MEMORY USAGE`): the `retain` default of 10 M entries is about "
      "%.1f GB." % (rps(c["events_queued"]), rps(c["applied_on_restart"]),
                    c["seconds_start_to_serving"], rps(c["events_per_second"]),
                    rps(feed["broker"]["entries"]), rps(feed["broker"]["stream_bytes"]),
                    feed["broker"]["bytes_per_entry"],
                    feed["broker"]["bytes_per_entry"] * 1e7 / 1e9))
    w("")
    lat = feed.get("score_latency")
    if lat:
        w("**What the consumer costs Score.** `benchmarks/loadgen`, closed loop, 4 calls in "
          "flight, mutual TLS, 8 s after 2 s of warm-up, on replica 1 with its feed idle, "
          "then while an upstream producer (a Python thread on the same cores) publishes "
          "2 000 events a second, then on a node serving the steward database without a "
          "feed; the other replicas and the broker stay up throughout.")
        w("")
        w("| replica 1 | calls/s | p50 | p99 | server CPU per call |")
        w("| --- | --- | --- | --- | --- |")
        for k, v in lat.items():
            w("| %s | %s | %s | %s | %s |" % (k, rps(v["calls_per_s"]), ms_or_us(v["p50_us"]),
                                               ms_or_us(v["p99_us"]),
                                               ms_or_us(v["server_cpu_us_per_call"])))
        w("")
        idle, none = lat.get("feed idle"), lat.get("no feed")
        busy = lat.get("feed applying 2000 events/s")
        if idle and none and busy:
            w("An idle feed (one XREAD every 100 ms) costs nothing measurable: %s vs %s calls/s, "
              "p50 %s vs %s. Applying 2 000 events a second costs the server about %s of CPU "
              "per event (its CPU per call rose from %s to %s while the publisher, the "
              "broker and the other replicas took their share of the same two cores), and "
              "Score's throughput fell to %s calls/s: on a machine of its own the consumer's "
              "share is that CPU and one LMDB commit per batch, which Score's readers never "
              "wait for." %
              (rps(idle["calls_per_s"]), rps(none["calls_per_s"]), ms_or_us(idle["p50_us"]),
               ms_or_us(none["p50_us"]),
               ms_or_us((busy["server_cpu_us_per_call"] - idle["server_cpu_us_per_call"]) *
                        busy["calls_per_s"] / 2000),
               ms_or_us(idle["server_cpu_us_per_call"]),
               ms_or_us(busy["server_cpu_us_per_call"]),
               rps(busy["calls_per_s"])))
            w("")


# Measured on this VM (December 2026; before-after.md has the figures), for the missed rows it moves.
HOST_MEMORY = (
    "This VM's kernel hands free memory back to its host (free page reporting), so memory the "
    "page cache grows into costs the host a fault per page on first write, several times the "
    "cost of the write itself. At this load the audit trail grows by about 40 MB a second, so "
    "its applier pays that at random points of a run, and the tails and the audit part of a "
    "Score's CPU move with it; the measurements are under *Found: this VM's host takes free "
    "memory back* below. Touching the memory before a run does not hold: the host takes it "
    "back within 90 s.")


def closing_notes(targets, d):
    """For each missed target: what the measurements of this run say about why, and what would
    close it."""
    engdb, peer, prof, wire = d.engdb, d.peer, d.prof, d.wire
    out = []
    missed = {t[5] for t in targets if t[4] is False}
    pct = prof["percent"] if prof else {}
    if "p50" in missed or "p99" in missed:
        def extra(c):
            n, sc_ = wire.get(c, (None, None))
            if n and sc_ and n.get("server_cpu_us_per_call") and sc_.get("server_cpu_us_per_call"):
                return sc_["server_cpu_us_per_call"] - n["server_cpu_us_per_call"]
            return None
        e16 = extra(16)
        cpu = []
        n1, s1 = wire.get(1, (None, None))
        if lat(n1, "p50") is not None and lat(s1, "p50") is not None:
            cpu.append("at c=1, where every Score is an audit commit of its own, it takes %s µs "
                       "longer (p50)" % us(lat(s1, "p50") - lat(n1, "p50")))
        if e16 is not None:
            cpu.append("at c=16, where one commit covers a batch, it costs the server %s µs more "
                       "CPU per call (at c=1 CPU per call mostly measures gRPC's polling between "
                       "calls, so it is not compared there)" % us(e16))
        prof_text = ""
        if pct:
            at = prof.get("audit_thread", {})
            prof_text = (
                " The profile at c=16: the audit trail takes %.0f %% of the server's CPU (the "
                "writer thread %.0f %%: %s; the applier %.0f %%; the indexer %.0f %%), the kernel "
                "%.0f %% elsewhere (network system calls, wake-ups), gRPC %.0f %%, and engine + "
                "store %.1f %%." %
                (pct.get("audit", 0), prof["threads"].get("tc-audit", 0),
                 "; ".join("%s %.0f %%" % kv for kv in at.items() if kv[1] >= 1) or "—",
                 prof["threads"].get("tc-audit-apply", 0),
                 prof["threads"].get("tc-audit-index", 0),
                 pct.get("kernel", 0), pct.get("gRPC/HTTP2", 0),
                 pct.get("engine", 0) + pct.get("store", 0)))
        out.append(
            "**Score vs floor.** Against the no-op: %s. The "
            "scoring is not it — lookup + decode + evaluate takes %s µs in process. Before its "
            "reply a Score's record (and the answer it gave, when its request ID is remembered) "
            "is appended to the audit trail's journal, one write system call per batch, in "
            "relaxed mode by the worker itself when no commit is under way; off the reply path "
            "but on the same 2 vCPUs, tc-audit-apply moves the journal into the trail's LMDB "
            "tables every 10 ms and tc-audit-index indexes them by citizen every 250 ms (each "
            "pass appends a sorted run; runs merge eight at a time). A Score also pseudonymises the ID (an HMAC), reads "
            "the consent and the record, and sends a larger reply. A no-op has none of that.%s "
            "How far the trail's part goes: a build that skipped the trail's writes altogether "
            "(an experiment, `benchmarks/before-after.md`) still cost 1.78× the no-op's CPU at "
            "c=16 and 1.44× its p50, so the ≤ 1.6× and ≤ 1.3× goals are not reachable through "
            "the trail alone on this machine: the rest is the wake-ups of the threads that share "
            "2 vCPUs with the client, the HMAC and the reply. Next, by weight: the workers' own "
            "time in the kernel and gRPC (wake-ups, a hand-over per call), then one worker "
            "instead of two here (see the configurations: the second competes with the client "
            "for the cores). A Score already reads its consent and record in one B-tree walk "
            "(store format 2)." %
            ("; ".join(cpu) if cpu else "?",
             "%.2f" % (engdb["median_ns"] / 1000) if engdb else "?", prof_text))
    if "p99" in missed:
        out.append(
            "**p99.** Tails at c ≥ 4 come from the shared cores (client, server workers, gRPC's "
            "threads, the audit writer, its sync thread, the applier and the citizen indexer "
            "on 2 vCPUs: any preemption is a scheduler quantum of several ms) and from the batches: a call that "
            "arrives while a commit is under way waits for it and for the next one. The "
            "periodic fdatasync runs on a thread of its own, off the reply path. On a machine with cores to spare for "
            "the client the c=1 tail is the better guide. The no-op floor has none of this, so "
            "its p99 is tight, and this host's memory adds stalls of its own (*This machine's "
            "memory* below). Next: the same run on a machine whose "
            "memory stays resident and whose client has cores of its own, to tell the code's "
            "tail from this host's; in the code, fewer threads woken per Score.")
    if "peer" in missed:
        tp = [(c, wire[c][1]) for c in wire if wire[c][1]]
        pp = [(c, peer[c]) for c in peer if peer.get(c)]
        if tp and pp:
            ct = min(d.get("server_cpu_us_per_call") or 1e9 for _, d in tp)
            cp = min(d.get("server_cpu_us_per_call") or 1e9 for _, d in pp)
            cores = max(d.get("server_cpu_cores") or 0 for _, d in pp)
            cli = min(d.get("client_cpu_us_per_call") or 1e9 for _, d in tp)
            out.append(
                "**Peer.** Per call, tinchapd's server spends %s µs of CPU and the peer %s µs "
                "(%.1f× less for tinchapd, while doing more: audit trail, pseudonymisation). The "
                "throughput ratio is smaller because both share the machine's 2 vCPUs with the "
                "load generator, which itself takes %s µs per call: tinchapd is bound by the "
                "cores it can get (client + server CPU per call), the peer by the GIL (it used "
                "%.2f cores at most). Closing it needs less CPU per Score in tinchapd (see "
                "Score vs floor above) or the client on other cores "
                "(then the bound is 10⁶ / %s µs ≈ {:,.0f} Scores per second per server core)."
                .format(1e6 / ct) % (us(ct), us(cp), cp / ct, us(cli), cores, us(ct)))
    if "cpu" in missed:
        out.append("**Engine + store share.** The profile counts every LMDB sample on the "
                   "workers as store, and in relaxed mode the workers also make the audit "
                   "commits there (Debian's liblmdb has no symbols to tell a lookup from a "
                   "commit), so it overstates the store. The in-process row measures the "
                   "engine and store alone against the same server CPU per call.")
    out += other_notes(missed, d)
    return out


def other_notes(missed, d):
    """The notes on scale, reloads, lookups, loads, the engine and training."""
    chase, loads, n_cons, n_pop, rl, sc = d.chase, d.loads, d.n_cons, d.n_pop, d.rl, d.sc
    store = d.store_score or d.store
    out = []
    if "scale" in missed:
        small = d.store_score_small or d.store_small
        for c in (1, 16):
            a, b = sc.get("100k", {}).get(c), sc.get("10M", {}).get(c)
            r = ratio(lat(b, "p50"), lat(a, "p50"))
            if r is None or r <= 1.10:
                continue
            d_wire = lat(b, "p50") - lat(a, "p50")
            d_db = (store["p50_ns"] - small["p50_ns"]) / 1000 if store and small else None
            out.append(
                "**Scale, c=%d.** p50 went from %s µs at 100 k citizens to %s µs at 10 M (%s µs "
                "more). In process, a Score's reads (its consent and its record, one walk down "
                "the B-tree) cost %s µs at 10 M and %s µs at 100 k (bench_store --institution): "
                "the database explains %s µs of it, a walk down a deeper tree over a file larger "
                "than the caches, where one dependent memory access costs %s ns here (pointer "
                "chase). %s What would reduce the database's part: fewer dependent accesses per "
                "walk (shorter keys, so more of them per branch page), prefetching, or huge "
                "pages for the map." %
                (c, us(lat(a, "p50")), us(lat(b, "p50")), us(d_wire),
                 "%.2f" % (store["p50_ns"] / 1000) if store else "?",
                 "%.2f" % (small["p50_ns"] / 1000) if small else "?",
                 "%.2f" % d_db if d_db is not None else "?",
                 "%.0f" % chase["ns_per_access"] if chase else "?",
                 ("The rest (%s µs) is not the database: it is the run-to-run variation of this "
                  "shared VM at c=%d, which the floor shows too." % (us(d_wire - d_db), c))
                 if d_db is not None and d_wire > 2 * d_db else ""))
    if "cpu16" in missed:
        cmp = score_over_noop(d)
        split = ""
        if cmp:
            rows, kernel, total = cmp
            top = [r for r in rows if r[3] >= 0.3][:5]
            files = [r for r in kernel if r[0] == "kernel: files"]
            split = (
                " This run's profiles split it per call (*A Score against the no-op* below): "
                "%s µs more in all, of which %s. The engine's part is %.2f µs." %
                ("%.1f" % total[3], ", ".join("%s %+.1f" % (r[0], r[3]) for r in top),
                 next((r[3] for r in rows if r[0] == "engine"), 0.0)) +
                (" Of the kernel's part, %+.1f µs is file work: the journal's write system "
                 "call." % files[0][3] if files else ""))
        out.append(
            "**CPU per Score.** A Score does what a no-op does and, besides, reads and writes "
            "larger messages (gRPC and protobuf), pseudonymises the ID (an HMAC), reads the "
            "consent and the record (store), appends its record to the audit trail's journal "
            "with one write system call before the reply, and off the reply path has the "
            "trail's applier and indexer move it into the tables (audit).%s The audit part moves "
            "with this host's memory from run to run (*This machine's memory* below). Even with "
            "no trail "
            "writes at all a Score cost 1.78× the no-op here (`benchmarks/before-after.md`), so "
            "no single part closes the gap. Next, by weight: the trail's own CPU (a journal "
            "written through a shared mapping of blocks allocated up front instead of a write "
            "system call per batch, "
            "and fewer, larger apply passes), then the gRPC cost of the larger messages." % split)
    if "durable" in missed:
        out.append(
            "**Durable.** Each batch waits for one write and one fdatasync of the journal; the "
            "calls that arrive meanwhile wait for the next batch. The bound counts one "
            "fdatasync of the probe, alone on an idle device; the journal's own, timed in "
            "service at c=1 with `perf trace`, took 128 µs median against the probe's 65 to 93 "
            "µs measured alone on the same VM at other moments, and a write with RWF_DSYNC "
            "instead of write + fdatasync took the same. The tables are synced only when a "
            "journal half is reused, so their syncs rarely share the device with the journal's. "
            "The hand-over to the writer thread costs a lone call about 2 % "
            "(`benchmarks/before-after.md`: committing on the worker itself was measured and "
            "not kept). What is left is the device's flush, and the next step is the device: "
            "a disk that acknowledges a flush from its own power-protected cache.")
    d16 = d.durable16
    s16 = d.s16
    if (d16 and s16 and d16.get("throughput_rps") and s16.get("throughput_rps") and
            d16["throughput_rps"] / s16["throughput_rps"] < 0.6):
        per = 16 / d16["throughput_rps"] * 1e6
        out.append(
            "**Durable throughput.** At c=16 at most 16 calls wait for one fdatasync, so %s "
            "calls/s means one batch every %.0f µs at best: the journal's write and flush, then "
            "the replies and the client's next calls. The flush shares the device with the "
            "writeback of the trail's tables (about 40 MB/s at this load) and moves with it "
            "from run to run. Next: as for the durable p50, the device." %
            (rps(d16["throughput_rps"]), per))
    if missed & {"p99", "cpu16", "durable", "reload", "peer"}:
        out.append("**This machine's memory.** " + HOST_MEMORY)
    if "reload" in missed:
        rr = rl.get("reload", {}) if rl else {}
        out.append(
            "**Reload.** A ReloadModels call reads every model file and parses only those whose "
            "bytes changed (none here), on the reload thread, off the workers, and the registry "
            "swap is atomic: the call took %s µs (median) and at most %s over the wire; in "
            "process an unchanged reload costs about 20 µs (`benchmarks/before-after.md`). The "
            "new set still counts as a new generation, so each worker's monitor cache starts "
            "again on its next Score. What is left is this VM's variation at the tail, on 2 "
            "vCPUs shared by the client, the workers and the writer. Next: the reload point on "
            "a machine whose tail is its own (see *This machine's memory*)." % (us(rr.get("p50_us")), ms_or_us(rr.get("max_us"))))
    if "chase" in missed and chase and chase.get("ns_per_access"):
        per = chase["ns_per_access"]
        rec, both = d.store, d.store_score
        out.append(
            "**Lookups against the pointer chase.** A record alone costs %s dependent random "
            "accesses' worth and a Score's reads (its consent and record, one walk) %s, where "
            "one such access costs %.0f ns here. At depth %s the root and the next level stay in "
            "the caches; each lower page (a branch, then the leaf) is a TLB miss and a cache "
            "miss, and LMDB's binary search over the page's node offsets then touches several "
            "more of its cache lines, each load depending on the one before; the record's own "
            "bytes add one or two. A read transaction renewed per lookup costs nothing "
            "measurable beside that (`bench_store --one-txn` gave the same median). Fewer "
            "dependent misses need a layout LMDB does not offer: for example the read-mostly "
            "citizen table as a hash-addressed file, one bucket page per lookup. That is a "
            "change of storage engine, against DESIGN.md's choice of LMDB, and the next step "
            "to weigh, not one taken here." %
            ("%.1f" % (rec["p50_ns"] / per) if rec else "?",
             "%.1f" % (both["p50_ns"] / per) if both else "?", per,
             rec["depth"] if rec else "?"))
    if "store" in missed and d.store:
        out.append(
            "**Lookup at 10 M.** The median random lookup + decode of a record alone is %.2f µs "
            "at depth %d; one dependent random access costs %s ns on this VM at GB scale "
            "(pointer chase), and a lookup that misses the caches below the top levels pays "
            "several (branch pages, then the leaf, then the record). Since store format 2 the "
            "tree holds each citizen's consents beside their record, so it is larger and a "
            "record alone costs more, while a Score, which needs both, walks it once (the row "
            "of a Score's reads). ≤ 1 µs needs fewer dependent misses: shorter keys, "
            "prefetching, or huge pages to cut TLB misses." %
            (d.store["p50_ns"] / 1000, d.store["depth"],
             "%.0f" % chase["ns_per_access"] if chase else "?"))
    if "load" in missed and loads and n_pop:
        c = loads.get("consents")
        pl = loads.get("population")
        out.append(
            "**Load.** In one command the population and consents are written together: "
            "%s consents take %s s of it and %s citizens %s s, and both are sorted and "
            "validated before anything is written. Per citizen the file has %.2f consent rows, "
            "so the honest figure for 'citizens loaded' includes them; the population alone "
            "loads at the rate in the table. Both files are read and checked at once (the "
            "population on a thread of its own), so the load uses both vCPUs and moves with "
            "this VM's speed. Its profile (December 2026) is spread over per-row work: libcsv's "
            "parser 14 %%, the field callbacks and conversions about 15 %%, sorting 6 %%; the "
            "next step is less work per row there." %
            ("{:,}".format(n_cons or 0), "%.1f" % c["seconds"] if c else "?", "{:,}".format(n_pop),
             "%.1f" % pl["seconds"] if pl else "?", (n_cons or 0) / n_pop))
    if "engine" in missed:
        out.append("**Engine.** The evaluation median is above 300 ns: the bin search on "
                   "unpredictable values, the reason ranking and the O(n²) PD interval dominate; "
                   "work that depends only on the model belongs at load time.")
    if "train" in missed:
        out.append("**Training.** See `benchmarks/bench_train.sh` output in the raw results for "
                   "the split between reading, binning, fitting and the report.")
    return out
