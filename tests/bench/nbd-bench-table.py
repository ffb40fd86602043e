"""The Markdown tables of one nbd-bench.sh run: rates with same-run ratios, then what each write
cost (disk bytes per client byte, server CPU-seconds per GiB).

Usage: python3 nbd-bench-table.py RESULTS_DIR SIZE RUNTIME DISK TARGET...
"""
import json
import os
import platform
import sys

res, size, runtime, disk = sys.argv[1:5]
targets = sys.argv[5:]
NAMES = {"A": "A: fio on file", "B": "B: nbdkit file", "C": "C: Ballast local", "R1": "R1: Ballast 1 replica",
         "R3": "R3: Ballast 3 replicas", "K1": "K1: Ceph RBD 1 copy", "K3": "K3: Ceph RBD 3 copies"}
WORKLOADS = ["seqwrite-1m-qd8", "randwrite-4k-qd32", "randread-4k-qd32", "randread-4k-qd32-cold", "write-4k-qd1-fsync"]
workloads = [w for w in WORKLOADS if os.path.exists(os.path.join(res, f"A-{w}.json"))]
# Same-run ratios: Ballast against Ceph at the same number of copies, and against nbdkit.
RATIOS = [(a, b) for a, b in [("R3", "K3"), ("R1", "K1"), ("R3", "B"), ("C", "A")] if a in targets and b in targets]


def load(target, workload):
    job = json.load(open(os.path.join(res, f"{target}-{workload}.json")))["jobs"][0]
    d = job["read"] if workload.startswith("randread") else job["write"]
    pct = d["clat_ns"].get("percentile", {})
    return {"iops": d["iops"], "mib": d["bw_bytes"] / 2**20, "bytes": d["io_bytes"],
            "p50": pct.get("50.000000", 0) / 1000, "p99": pct.get("99.000000", 0) / 1000}


def cost(target, workload):
    with open(os.path.join(res, f"{target}-{workload}.cost")) as f:
        cpu, disk_bytes = f.read().split()
    return float(cpu), int(disk_bytes)


def metric(workload):
    return "mib" if workload.startswith("seq") else "iops"


def cell(workload, r):
    if workload.startswith("seq"):
        return f"{r['mib']:.0f} MiB/s"
    if "qd1" in workload:
        return f"{r['iops']:.0f} IOPS, p50 {r['p50']:.0f} µs, p99 {r['p99']:.0f} µs"
    return f"{r['iops'] / 1000:.1f}k IOPS"


print("| workload | " + " | ".join(NAMES[t] for t in targets) + " | " + " | ".join(f"{a}/{b}" for a, b in RATIOS) + " |")
print("|---" * (1 + len(targets) + len(RATIOS)) + "|")
for w in workloads:
    r = {t: load(t, w) for t in targets}
    m = metric(w)
    ratios = []
    for a, b in RATIOS:
        if "qd1" in w:  # latency: lower is better, so the ratio of p50s
            ratios.append(f"p50 {r[a]['p50'] / r[b]['p50']:.2f}x" if r[b]["p50"] else "-")
        else:
            ratios.append(f"{r[a][m] / r[b][m]:.2f}x" if r[b][m] else "-")
    print(f"| {w} | " + " | ".join(cell(w, r[t]) for t in targets) + " | " + " | ".join(ratios) + " |")

print()
print("What each write cost: bytes the disk received per byte fio wrote / CPU-seconds of the system's server "
      "processes per GiB fio wrote (A: fio's own process, not counted)")
print()
print("| workload | " + " | ".join(t for t in targets) + " |")
print("|---" * (1 + len(targets)) + "|")
for w in [w for w in workloads if not w.startswith("randread")]:
    cells = []
    for t in targets:
        cpu, written = cost(t, w)
        gib = load(t, w)["bytes"] / 2**30
        amp = f"{written / (gib * 2**30):.1f}x" if disk != "-" and gib else "-"
        cpus = f"{cpu / gib:.1f}" if t != "A" and gib else "-"
        cells.append(f"{amp} / {cpus}")
    print(f"| {w} | " + " | ".join(cells) + " |")
print()
warmup = os.environ.get("BENCH_WARMUP", "0")
print(f"size {size}, {runtime} s per workload after a fill and a {warmup} s warm-up of every volume, {os.cpu_count()} cores, kernel {platform.release()}, "
      f"disk {disk}; randread-cold: page cache dropped before each system")
