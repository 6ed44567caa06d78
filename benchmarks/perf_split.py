#!/usr/bin/python3
"""Where the server's CPU time goes: samples of tinchapd under a Score load, split into the
parts of a call.

  perf_split.py perf PERF_SCRIPT.txt        `perf script -F comm,ip,sym,dso` of `perf record -p`
  perf_split.py threads BEFORE.txt AFTER.txt each thread's CPU ticks from /proc, before and
                                            after the same window: the split by thread only,
                                            where perf cannot sample (callgrind cannot stand in:
                                            the audit trail maps 64 GiB of address space, more
                                            than valgrind gives a process)

Each sample (or instruction count) is attributed by the thread it ran on (tinchapd names its
threads: tc-worker-N serve calls and, in relaxed mode, write the trail's journal when no commit
is under way; tc-audit writes what queued meanwhile and sends those replies; tc-audit-sync syncs
the relaxed journal; tc-audit-apply moves the journal into the trail's tables; tc-audit-index
indexes them by citizen; tc-log writes the access log; gRPC names its own), then by the shared
object and symbol it was in:

  gRPC/HTTP2  libgrpc, libgpr, absl, upb, re2, c-ares, libssl, and every sample of gRPC's own
              threads
  protobuf    libprotobuf-c and the generated tinchap__v1__* code
  store       liblmdb on the workers (citizen, consent and request-ID lookups, and in relaxed
              mode their own audit commits: Debian's liblmdb has no symbols to tell them
              apart), tc_store, tc_reader, tc_record, tc_consent, tc_id
  keys/auth   libcrypto on the workers: the citizen-ID HMAC, the token digest, the random
              inquiry ID
  engine      tc_model, tc_eval, tc_reasons, tc_registry, GSL, libm
  audit       the tc-audit thread's journal writes and syncs in the kernel, the sync, apply
              and index threads, tc_audit/journal code and zlib's CRC on the workers
  service     the rest of tinchapd: tc_api (dispatch, validation, request digest, reply)
  access log  the tc-log thread
  libc        malloc/free, memcpy, printf-family, locks (mostly on gRPC's behalf)
  kernel      system calls, network stack, scheduling and wake-ups on the workers and gRPC's
              threads, and the network part of the audit thread's work (sending replies)
  other       the main thread, the dynamic loader, vdso

The kernel's part is split again by the sampled kernel function alone (perf records no call
chains here): network (TCP, sockets, epoll), files (ext4, the page cache, block I/O),
scheduling (switches, wake-ups, futexes, timers) and other (system-call entry and exit, memory).

Prints JSON: the tool, the sample count, percentages by part, by thread and of the kernel's
part, all of the server's samples.
"""
import json
import re
import sys

GRPC_DSO = re.compile(r"lib(grpc|gpr|absl|upb|re2|cares|address_sorting|ssl)")
GRPC_THREADS = ("default-executo", "resolver-execut", "grpc_global_tim", "event_engine",
                "timer_manager", "grpc")
STORE_SYM = re.compile(r"^(tc_store|tc_reader|tc_record|tc_consent|tc_id|tc_hasher|tc_mdb)")
ENGINE_SYM = re.compile(r"^(tc_model|tc_eval|tc_reasons|tc_registry|gsl_|cblas_)")
PROTO_SYM = re.compile(r"^(tinchap__v1__|grpc__health|protobuf_c_)")
NET_SYM = re.compile(r"(tcp|sock|skb|inet|^ip_|ipv4|net_|netif|napi|loopback|__dev_|"
                     r"sendmsg|recvmsg|epoll|poll)")
FILE_SYM = re.compile(r"(ext4|jbd2|filemap|folio|iomap|generic_perform_write|^file_|vfs_|fdatasync|"
                      r"writeback|page_cache|copy_page_from_iter|mark_buffer|block_|^blk_|bio_)")
SCHED_SYM = re.compile(r"(schedule|switch|wake|futex|hrtimer|tick|idle|pick_next|enqueue|dequeue|"
                       r"update_curr|load_balance|select_task|ttwu)")
KERNEL_ORDER = ["network", "files", "scheduling", "other"]
ORDER = ["gRPC/HTTP2", "protobuf", "store", "keys/auth", "engine", "audit", "service",
         "access log", "libc", "kernel", "other"]


AUDIT_SYM = re.compile(r"^(tc_audit|journal_|idem_memory)")
TINCHAPD_RULES = [(PROTO_SYM, "protobuf"), (STORE_SYM, "store"), (ENGINE_SYM, "engine"),
                  (AUDIT_SYM, "audit")]
KERNEL_RULES = [(NET_SYM, "network"), (FILE_SYM, "files"), (SCHED_SYM, "scheduling")]


def first_match(sym, rules, default):
    """The name of the first rule whose pattern sym matches, else default."""
    return next((name for rx, name in rules if rx.search(sym)), default)


def part(thread, dso, sym):
    base = dso.rsplit("/", 1)[-1]
    kernel = base.startswith("[kernel") or base == "kernel"
    if thread == "tc-audit":
        if kernel:
            return "kernel" if NET_SYM.search(sym) else "audit"
        if GRPC_DSO.search(base):
            return "gRPC/HTTP2"
        if base.startswith("libc.") or base.startswith("libc-"):
            return "libc"
        return "audit"
    if thread == "tc-log":
        return "access log"
    if thread in ("tc-audit-sync", "tc-audit-apply", "tc-audit-index"):
        return "audit"
    if thread.startswith(GRPC_THREADS):
        return "kernel" if kernel else "gRPC/HTTP2"
    if not thread.startswith("tc-worker"):
        return "kernel" if kernel else "other"
    if kernel:
        return "kernel"
    if GRPC_DSO.search(base):
        return "gRPC/HTTP2"
    if base.startswith("libprotobuf-c"):
        return "protobuf"
    if base.startswith("liblmdb"):
        return "store"
    if base.startswith("libcrypto"):
        return "keys/auth"
    if base.startswith("libz."):
        return "audit"  # the journal's CRC
    if base.startswith(("libgsl", "libm.", "libm-", "libblas", "libcblas")):
        return "engine"
    if base.startswith(("libc.", "libc-")):
        return "libc"
    if base.startswith("tinchapd") or base == "[unknown]" and sym.startswith("tc_"):
        return first_match(sym, TINCHAPD_RULES, "service")
    return "other"


LINE = re.compile(r"^\s*(\S+)\s+[0-9a-f]+\s+(.*?)\s+\(([^()]*)\)\s*$")


def audit_part(dso, sym):
    """What the audit writer thread spends its time on."""
    base = dso.rsplit("/", 1)[-1]
    if base.startswith("[kernel"):
        return "sending replies: kernel network" if NET_SYM.search(sym) else \
            "file writes and syncs: kernel"
    if base.startswith("liblmdb"):
        return "LMDB commit"
    if GRPC_DSO.search(base):
        return "sending replies: gRPC"
    if base.startswith(("libc.", "libc-")):
        return "libc"
    return "other"


AUDIT_ORDER = ["LMDB commit", "file writes and syncs: kernel",
               "sending replies: gRPC", "sending replies: kernel network", "libc",
               "other"]


def kernel_part(sym):
    """What a kernel sample was doing, from its own symbol (no call chains are recorded)."""
    return first_match(sym, KERNEL_RULES, "other")


def from_perf(path):
    counts, threads = {}, {}
    global AUDIT, KERNEL
    AUDIT, KERNEL = {}, {}
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            thread, sym, dso = m.groups()
            thread = re.sub(r"-\d+$", "-N", thread) if thread.startswith("tc-worker") else thread
            p = part(thread, dso, sym)
            counts[p] = counts.get(p, 0) + 1
            threads[thread] = threads.get(thread, 0) + 1
            if thread == "tc-audit":
                a = audit_part(dso, sym)
                AUDIT[a] = AUDIT.get(a, 0) + 1
            if p == "kernel":
                k = kernel_part(sym)
                KERNEL[k] = KERNEL.get(k, 0) + 1
    return counts, threads


AUDIT, KERNEL = {}, {}


def from_threads(before, after):
    """Each thread's user + system CPU ticks over the window, from two /proc snapshots
    ("comm<TAB>utime<TAB>stime" per thread). Coarse — a worker's time is not split between
    gRPC, protobuf, store and engine — but available wherever /proc is."""
    def read(path):
        out = {}
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 3:
                    name = re.sub(r"-\d+$", "-N", parts[0]) if parts[0].startswith("tc-worker") \
                        else parts[0]
                    out[name] = out.get(name, 0) + int(parts[1]) + int(parts[2])
        return out
    a, b = read(before), read(after)
    threads = {k: b[k] - a.get(k, 0) for k in b if b[k] - a.get(k, 0) > 0}
    counts = {}
    for k, v in threads.items():
        p = ("workers" if k.startswith("tc-worker") else "audit" if k == "tc-audit"
             else "access log" if k == "tc-log"
             else "gRPC/HTTP2" if k.startswith(GRPC_THREADS) else "other")
        counts[p] = counts.get(p, 0) + v
    return counts, threads


def main():
    tool = sys.argv[1]
    if tool == "perf":
        counts, threads = from_perf(sys.argv[2])
        order = ORDER
    else:
        counts, threads = from_threads(sys.argv[2], sys.argv[3])
        order = ["workers", "audit", "gRPC/HTTP2", "access log", "other"]
    total = sum(counts.values())
    if total == 0:
        sys.exit("perf_split.py: nothing measured in " + " ".join(sys.argv[2:]))
    out = {
        "tool": tool,
        "unit": "samples" if tool == "perf" else "clock ticks",
        "total": total,
        "percent": {k: round(100.0 * counts.get(k, 0) / total, 2) for k in order},
        "threads": {k: round(100.0 * v / total, 2) for k, v in
                    sorted(threads.items(), key=lambda kv: -kv[1])},
    }
    if AUDIT:
        n = sum(AUDIT.values())
        out["audit_thread"] = {k: round(100.0 * AUDIT.get(k, 0) / n, 1) for k in AUDIT_ORDER}
    if KERNEL:
        out["kernel_percent"] = {k: round(100.0 * KERNEL.get(k, 0) / total, 2)
                                 for k in KERNEL_ORDER}
    if tool == "perf":
        out["engine_plus_store_percent"] = round(out["percent"]["engine"] +
                                                 out["percent"]["store"], 2)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
