#!/usr/bin/python3
"""Turn a Standard Workload Format log into a jobq-sim scenario.

Real job logs from the Parallel Workloads Archive (Feitelson, Tsafrir and
Krakov, JPDC 2014) give the simulator and the benchmarks a realistic load:
real arrival bursts, real run times, real sizes.

Mapping (SWF fields are 1-based):
  run         one per job (field 1), id "j<number>"
  submit_at   field 2 (seconds from the start of the log)
  duration    field 4 (run time); jobs with no run time are skipped
  cpu         allocated processors (field 5, else requested, field 8) as cores
  memory      used memory (field 7, KB per processor) x processors, if known
  pods        1
  namespace   the partition (field 16) when the log has several, else the
              queue (field 15), else "default"
  priority    high for the log's interactive queue (--high-queue, default 0)
              or, where queues mean nothing, for a stable ~10% of users
  quota       per namespace: cpu = --capacity x the peak number of
              processors the log ran at once in that namespace (so < 1.0
              creates contention), at least the largest single job unless
              --allow-oversized

  swf2scenario.py LOG.swf[.gz] [--limit N] [--capacity F] [--tick S] > out.json
"""
import argparse
import gzip
import json
import sys
import zlib


def read_jobs(path, limit):
    opener = gzip.open if path.endswith(".gz") else open
    jobs = []
    with opener(path, "rt", encoding="latin-1") as log:
        for line in log:
            if line.startswith(";") or not line.strip():
                continue
            f = line.split()
            if len(f) < 18:
                continue
            number, submit, run_time = int(f[0]), int(f[1]), int(f[3])
            procs = int(f[4]) if int(f[4]) > 0 else int(f[7])
            if run_time < 0 or procs <= 0 or submit < 0:
                continue
            memory_kb = int(f[6])
            jobs.append({"number": number, "submit": submit, "run": run_time,
                         "procs": procs,
                         "memory": memory_kb * 1024 * procs if memory_kb > 0 else 0,
                         "user": int(f[11]), "queue": int(f[14]),
                         "partition": int(f[15])})
            if limit and len(jobs) >= limit:
                break
    return jobs


def namespace_of(job, by_partition, by_queue):
    if by_partition:
        return f"site-{job['partition']}"
    if by_queue:
        return f"queue-{job['queue']}"
    return "default"


def peak_usage(jobs):
    """Largest number of processors running at once, per namespace."""
    points = {}
    for job in jobs:
        points.setdefault(job["ns"], []).extend(
            [(job["submit"], job["procs"]), (job["submit"] + job["run"], -job["procs"])])
    peaks = {}
    for ns, events in points.items():
        events.sort(key=lambda e: (e[0], e[1]))
        level = peak = 0
        for _, delta in events:
            level += delta
            peak = max(peak, level)
        peaks[ns] = peak
    return peaks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log")
    parser.add_argument("--limit", type=int, default=0, help="first N jobs only")
    parser.add_argument("--capacity", type=float, default=0.8,
                        help="quota as a fraction of each namespace's peak (default 0.8)")
    parser.add_argument("--tick", type=float, default=1, help="tick_seconds")
    parser.add_argument("--high-queue", type=int, default=0)
    parser.add_argument("--head-timeout", type=int, default=3600)
    parser.add_argument("--share", type=int, default=90)
    parser.add_argument("--allow-oversized", action="store_true")
    args = parser.parse_args()

    jobs = read_jobs(args.log, args.limit)
    if not jobs:
        sys.exit("swf2scenario: no usable jobs in " + args.log)
    by_partition = len({j["partition"] for j in jobs}) > 1
    by_queue = not by_partition and len({j["queue"] for j in jobs}) > 1
    for job in jobs:
        job["ns"] = namespace_of(job, by_partition, by_queue)
    peaks = peak_usage(jobs)
    largest = {}
    for job in jobs:
        largest[job["ns"]] = max(largest.get(job["ns"], 0), job["procs"])
    namespaces = {}
    for ns, peak in sorted(peaks.items()):
        cpu = max(1, int(peak * args.capacity))
        if not args.allow_oversized:
            cpu = max(cpu, largest[ns])
        namespaces[ns] = {"cpu": str(cpu)}

    queues_mean_priority = len({j["queue"] for j in jobs}) > 1
    runs = []
    for job in jobs:
        if queues_mean_priority:
            high = job["queue"] == args.high_queue
        else:
            high = zlib.crc32(str(job["user"]).encode()) % 10 == 0
        run = {"id": f"j{job['number']}", "job": f"user-{job['user']}",
               "namespace": job["ns"], "priority": "high" if high else "normal",
               "submit_at": job["submit"], "duration": job["run"],
               "cpu": str(job["procs"]), "pods": 1}
        if job["memory"]:
            run["memory"] = str(job["memory"])
        runs.append(run)
    scenario = {
        "config": {"systemProperties": {
            "job-orchestrator.queue.high.scheduling-share-percentage": args.share,
            "job-orchestrator.queue.head-timeout-seconds": args.head_timeout}},
        "tick_seconds": args.tick,
        "namespaces": namespaces,
        "runs": runs,
    }
    json.dump(scenario, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
