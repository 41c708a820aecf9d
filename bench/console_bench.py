#!/usr/bin/python3
"""Server time of the web console at depth.

    console_bench.py JOBQ-CONSOLE DB [REPEAT]

Starts jobq-console --db DB (read-only, as an operator would next to a
scheduler), then times, REPEAT times each (default 3): the overview, the
first, middle and last page of the deepest queue, one run, a search and
the event feed. Prints the server time the API reports (server_ms, where
it has one) and the wall time of the request, median (min..max), and the
first ("cold") request of each case, 2.2 s after the previous one (the
console once cached a queue's list for 2 s; it now reads each page with
jobq_queue_runs and keeps nothing, so cold and warm should agree).
"""
import json
import re
import statistics
import subprocess
import sys
import time
import urllib.request

CONSOLE, DB = sys.argv[1], sys.argv[2]
REPEAT = int(sys.argv[3]) if len(sys.argv) > 3 else 3


def get(base, path):
    started = time.monotonic()
    with urllib.request.urlopen(base + path, timeout=600) as resp:
        body = resp.read()
    wall = (time.monotonic() - started) * 1000
    doc = json.loads(body)
    return doc, wall


def summary(values):
    return (f"{statistics.median(values):8.1f} "
            f"({min(values):.1f}..{max(values):.1f})")


def main():
    proc = subprocess.Popen([CONSOLE, "--db", DB, "--port", "0",
                             "--refresh-ms", "600000"],
                            stderr=subprocess.PIPE, text=True)
    try:
        opened = time.monotonic()
        line = proc.stderr.readline()
        m = re.search(r"serving (http://[^/]+)/", line)
        assert m, line
        base = m.group(1)
        print(f"# jobq-console opened {DB} and served after "
              f"{time.monotonic() - opened:.2f} s")
        overview, _ = get(base, "/api/v1/overview")
        deepest = max(overview["queues"], key=lambda q: q["length"])
        ns, prio, n = deepest["namespace"], deepest["priority"], \
            int(deepest["length"])
        print(f"# deepest queue {ns}/{prio}: {n} runs")
        q = f"/api/v1/runs?namespace={ns}&priority={prio}&state=queued&limit=50"
        first, _ = get(base, q + "&offset=0")
        head = first["runs"][0]["id"]
        cases = [
            ("overview", "/api/v1/overview"),
            ("queue page 1", q + "&offset=0"),
            ("queue page, middle", q + f"&offset={n // 2}"),
            ("queue page, last", q + f"&offset={max(0, n - 50)}"),
            ("one run (head)", f"/api/v1/runs/{head}"),
            ("search 'etl-2026-11-29-00042' (50)",
             "/api/v1/search?q=etl-2026-11-29-00042&limit=50"),
            ("event feed", "/api/v1/events"),
        ]
        print(f"{'request':40} {'server ms, median (range)':>30} "
              f"{'wall ms, median (range)':>30}")
        for name, path in cases:
            # Cold: first request after a pause (no cache to reuse).
            time.sleep(2.2)
            cold_doc, cold_wall = get(base, path)
            server, wall = [], []
            for _ in range(REPEAT):
                doc, w = get(base, path)
                wall.append(w)
                if "server_ms" in doc:
                    server.append(doc["server_ms"])
            cold = cold_doc.get("server_ms", cold_wall)
            print(f"{name:40} {summary(server) if server else '-':>30} "
                  f"{summary(wall):>30}   cold: {cold:.1f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
