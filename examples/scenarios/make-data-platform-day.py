#!/usr/bin/python3
"""Writes data-platform-day.json: one day of a data platform, for the demo.

Three namespaces share a cluster. Overnight, high-priority ETL and ML
training run; from 08:00 analysts submit many normal-priority ad-hoc jobs;
dashboards refresh hourly; at noon the analytics quota is cut in half; a
backfill too big to ever fit blocks the analytics normal queue until its
head timeout cancels it; a few jobs still use the legacy flow; two
deployments hit stale quota. Deterministic: a fixed seed.
"""
import json
import random

rng = random.Random(20261129)
HOUR = 3600
runs = []


def run(run_id, job, ns, priority, at, duration, cpu, memory, pods,
        storage="0", flow="priority", domain="data"):
    runs.append({"id": run_id, "job": job, "namespace": ns,
                 "priority": priority, "flow": flow, "domain": domain,
                 "submit_at": at, "duration": duration, "cpu": cpu,
                 "memory": memory, "pods": pods, "storage": storage})


# Nightly ETL: a dozen high-priority loads from 01:00, five minutes apart.
for i in range(12):
    run(f"etl-{i:02d}", f"nightly-etl-{i % 4}", "analytics", "high",
        1 * HOUR + i * 300, rng.randint(30, 90) * 60, "8", "32Gi", 5, "50Gi")
# ML training at 02:00, and hourly feature jobs.
for i in range(3):
    run(f"train-{i}", "model-training", "ml", "high", 2 * HOUR + i * 60,
        rng.randint(90, 150) * 60, "16", "64Gi", 9, "200Gi", domain="ml")
for h in range(24):
    run(f"features-{h:02d}", "feature-refresh", "ml", "normal", h * HOUR + 600,
        20 * 60, "4", "16Gi", 3, domain="ml")
# Dashboards refresh hourly in reporting.
for h in range(24):
    run(f"dash-{h:02d}", "dashboard-refresh", "reporting", "normal",
        h * HOUR, 10 * 60, "2", "8Gi", 2, "1Gi", domain="bi")
# Ad-hoc analysis from 08:00 to 20:00.
for i in range(360):
    ns = rng.choice(["analytics", "analytics", "ml", "reporting"])
    at = 8 * HOUR + rng.randint(0, 12 * HOUR)
    cpu = rng.choice(["1", "2", "2", "4", "4", "8", "500m"])
    memory = rng.choice(["4Gi", "8Gi", "16Gi", "32Gi"])
    run(f"adhoc-{i:03d}", f"adhoc-{rng.randint(1, 40)}", ns, "normal", at,
        rng.randint(5, 60) * 60, cpu, memory, rng.randint(1, 4))
# Business-critical reports during the day, high priority.
for i in range(30):
    run(f"report-{i:02d}", "exec-report", "analytics", "high",
        9 * HOUR + i * 900, 15 * 60, "4", "16Gi", 2, domain="finance")
# A backfill far bigger than the analytics quota: it can never fit.
run("backfill-2019", "historical-backfill", "analytics", "normal",
    10 * HOUR, 6 * HOUR, "128", "512Gi", 40, "500Gi")
# Jobs still on the legacy flow: deployed at once, no queue.
for i in range(6):
    run(f"legacy-{i}", "old-export", "reporting", "normal", 6 * HOUR + i * 1800,
        30 * 60, "1", "2Gi", 1, flow="legacy", domain="bi")

runs.sort(key=lambda r: r["submit_at"])
scenario = {
    "config": {
        "services": {"jobOrchestrator": {"settings": {"batchSize": 10}}},
        "systemProperties": {
            "job-orchestrator.queue.high.scheduling-share-percentage": 90,
            "job-orchestrator.queue.head-timeout-seconds": 1800,
            "job-orchestrator.queue.head-retry-count": 1,
        },
    },
    "tick_seconds": 10,
    "namespaces": {
        "analytics": {"cpu": "64", "memory": "256Gi", "pods": 100,
                      "storage": "1Ti"},
        "ml": {"cpu": "48", "memory": "192Gi", "pods": 40, "storage": "2Ti"},
        "reporting": {"cpu": "16", "memory": "64Gi", "pods": 30,
                      "storage": "200Gi"},
    },
    "runs": runs,
    "quota_changes": [
        {"at": 12 * HOUR, "namespace": "analytics", "cpu": "32",
         "memory": "128Gi"},
        {"at": 18 * HOUR, "namespace": "analytics", "cpu": "64",
         "memory": "256Gi"},
    ],
    "stale_quota": [{"run": "etl-03", "times": 1}, {"run": "adhoc-100", "times": 2}],
}
with open("data-platform-day.json", "w", encoding="utf-8") as out:
    json.dump(scenario, out, indent=1)
    out.write("\n")
