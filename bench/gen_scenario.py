#!/usr/bin/python3
"""Writes the durable-throughput scenario of issue 11 to standard output.

    bench/gen_scenario.py [--runs N] [--seed S] > scenario.json

N runs (default 100,000) in 4 namespaces, batchSize 200, 1 s ticks; every
run lasts 1 to 30 s and asks for 1 to 4 cpu. Runs arrive in bursts at
whole seconds (several per second, so that batched submission matters)
at about the rate the 4 quotas can serve, so queues build up and drain
and heads get blocked now and then. A quarter of the runs are high
priority. Deterministic: the same N and seed give the same file.
"""
import argparse
import json
import random
import sys

NAMESPACES = ["ingest", "analytics", "ml", "reporting"]
CPU_PER_NS = 100  # cores: ~4 x 100 / (15.5 s x 2.5 cpu) = ~10 runs/s
JOBS_PER_NS = 25


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    runs = []
    t = 0
    while len(runs) < args.runs:
        # 0..20 arrivals this second (mean 10), then the clock moves on.
        for _ in range(min(rng.randint(0, 20), args.runs - len(runs))):
            ns = rng.randrange(len(NAMESPACES))
            job = rng.randrange(JOBS_PER_NS)
            high = rng.random() < 0.25
            runs.append({
                "id": f"run-{len(runs):06d}",
                "job": f"{NAMESPACES[ns]}-job-{job:02d}",
                "namespace": NAMESPACES[ns],
                "priority": "high" if high else "normal",
                "submit_at": t,
                "duration": rng.randint(1, 30),
                "cpu": str(rng.randint(1, 4)),
                "memory": f"{rng.choice([2, 4, 8])}Gi",
                "pods": rng.randint(1, 3),
            })
        t += 1
    scenario = {
        "config": {
            "services": {"jobOrchestrator": {"settings": {"batchSize": 200}}},
            "systemProperties": {
                "job-orchestrator.queue.high.scheduling-share-percentage": 80,
                "job-orchestrator.queue.head-timeout-seconds": 3600,
            },
        },
        "tick_seconds": 1,
        "namespaces": {
            name: {"cpu": str(CPU_PER_NS), "memory": "1Ti", "pods": 1000,
                   "storage": "1Ti"}
            for name in NAMESPACES
        },
        "runs": runs,
    }
    json.dump(scenario, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
