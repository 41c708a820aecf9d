#!/usr/bin/python3
"""Randomized property test for jobq-sim (SPEC sections 2 and 4).

Generates random scenarios (seeded and reproducible), runs jobq-sim on each
and checks, from the output alone with a small independent model of the
cluster, the invariants listed below; then compares the whole event stream
with refmodel.py, a reference scheduler written from the SPEC text.

  test_property.py JOBQ_SIM [--runs N] [--seed S] [--keep DIR]

Environment: JOBQ_PROPERTY_RUNS (default 300), JOBQ_PROPERTY_SEED (default
fixed), JOBQ_PROPERTY_KEEP (where failing scenarios are written; default a
temporary directory, printed), JOBQ_PROPERTY_CROSSCHECK=0 (skip the
reference-model comparison), JOBQ_REFMODEL_* (see MODEL_OPTIONS).  Output is TAP, one line per invariant.
To replay one scenario: jobq-sim FILE, or --seed S --runs 1 with S the
scenario's seed printed on failure.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'scenarios'))
sys.path.insert(0, HERE)

import refmodel  # noqa: E402
from simlib import Tap, RESOURCES, TERMINAL, P_SHARE, P_TIMEOUT, P_RETRY  # noqa: E402,E501

GI = 2 ** 30
MI = 2 ** 20

INVARIANTS = [
    ('a', 'no deploy behind a waiting head (per namespace/priority FIFO)'),
    ('b', 'capacity never exceeded at deploy time (priority flow)'),
    ('c', 'one submitted and one terminal event per run, reasons, nothing '
          'after the end'),
    ('d', 'priority-flow deployments per cycle <= batchSize'),
    ('e', 'determinism: same scenario twice gives byte-identical output'),
    ('f', 'wait_s = t - submit_at; submission at the first step >= '
          'submit_at'),
    ('g', 'event times non-decreasing and on the tick grid'),
    ('h', 'summary counts equal event counts'),
    ('i', 'blocked reason is the first short dimension with exact '
          'requested/available'),
    ('j', 'runs finish at the first step >= deployment + duration'),
    ('k', 'legacy runs (and all runs when disabled) deploy at submission '
          'with flow legacy; others with flow priority'),
    ('l', 'stale-quota backoff: after the n-th refusal in a row a run is '
          'not tried again (rescheduled or deployed) before 2^(n-1) s, at '
          'most 60 s, have passed'),
    ('x', 'cross-check: event stream equals the reference model '
          '(refmodel.py)'),
]


# --------------------------------------------------------------- generator

def cpu_text(rng, milli):
    if milli % 1000 == 0:
        return rng.choice([str(milli // 1000), milli // 1000,
                           '%dm' % milli])
    if milli % 100 == 0 and rng.random() < 0.5:
        return '%g' % (milli / 1000.0)
    return '%dm' % milli


def bytes_text(rng, n):
    forms = [n, str(n)]
    if n % GI == 0:
        forms.append('%dGi' % (n // GI))
    if n % MI == 0:
        forms.append('%dMi' % (n // MI))
    if n % 10 ** 9 == 0:
        forms.append('%dG' % (n // 10 ** 9))
        forms.append('%de9' % (n // 10 ** 9))
    if n % 10 ** 6 == 0:
        forms.append('%dM' % (n // 10 ** 6))
    return rng.choice(forms)


def time_value(rng, hi, tick):
    kind = rng.random()
    if kind < 0.6:
        return rng.randint(0, hi)
    if kind < 0.85:
        return rng.randint(0, hi * 4) / 4.0
    return round(rng.randint(0, hi * 1000) / 1000.0, 3)


def gen_amount(rng, kind, quota):
    """A request in base units, mostly fitting the quota, sometimes not."""
    if quota is None:
        quota = {'cpu': 8000, 'memory': 16 * GI, 'pods': 10,
                 'storage': 100 * GI}[kind]
    r = rng.random()
    if r < 0.15:
        return 0
    if r < 0.22:
        # Boundaries: exactly the quota, or an exact share of it.
        return rng.choice([quota, quota // 2, quota // 3, quota // 4])
    if r < 0.93:
        top = max(1, quota // 2)
    else:
        top = max(1, quota * 3 // 2)
    v = rng.randint(1, top)
    if kind == 'cpu':
        return v if rng.random() < 0.3 else max(100, v // 100 * 100)
    if kind in ('memory', 'storage'):
        return max(MI, v // MI * MI)
    return v


def gen_quota(rng, kind):
    if rng.random() < 0.04:
        return 0
    if kind == 'cpu':
        return rng.choice([1000, 2000, 4000, 8000, 500 * rng.randint(1, 32)])
    if kind == 'memory':
        return rng.choice([GI, 4 * GI, 16 * GI, MI * rng.randint(256, 8192)])
    if kind == 'pods':
        return rng.randint(1, 12)
    return rng.choice([10 * GI, 100 * GI, 10 ** 9 * rng.randint(1, 50)])


def quantity_text(rng, kind, v):
    if kind == 'cpu':
        return cpu_text(rng, v)
    if kind == 'pods':
        return rng.choice([v, str(v)])
    return bytes_text(rng, v)


PROFILES = ('small', 'small', 'small', 'wide', 'busy', 'coarse')


def generate(seed):
    """A random scenario.  Profiles: 'small' (1-4 namespaces, up to 40
    runs), 'wide' (up to 12 namespaces), 'busy' (many runs on small
    quotas, more retries), 'coarse' (tick_seconds large against the head
    timeout)."""
    rng = random.Random(seed)
    profile = rng.choice(PROFILES)
    pool = ['a', 'b', 'c', 'etl', 'adhoc', 'ml', 'ns-%d' % rng.randint(0, 9),
            'x', 'y', 'z', 'prod', 'dev', 'qa']
    if profile == 'wide':
        names = rng.sample(pool, rng.randint(5, 12))
    else:
        names = rng.sample(pool[:6], rng.choice([1, 1, 2, 2, 3, 4]))
    if profile == 'coarse':
        tick = rng.choice([3, 4, 7, 10, 2.5])
    else:
        tick = rng.choice([1, 1, 1, 1, 2, 0.5, 0.25, 3, 1.5, 5])
    quotas = {}
    namespaces = {}
    for n in names:
        q = {}
        for kind, p in zip(RESOURCES, (0.9, 0.7, 0.6, 0.4)):
            if rng.random() < p:
                q[kind] = gen_quota(rng, kind)
        quotas[n] = q
        namespaces[n] = {k: quantity_text(rng, k, v) for k, v in q.items()}
    runs = []
    horizon = rng.choice([10, 30, 60, 120])
    jobs = ['job%d' % i for i in range(rng.randint(1, 6))]
    if profile == 'busy':
        nruns = rng.randint(40, 120)
    elif profile == 'wide':
        nruns = rng.randint(10, 60)
    else:
        nruns = rng.randint(1, rng.choice([5, 15, 40]))
    for i in range(nruns):
        ns = rng.choice(names)
        r = {'id': 'r%d' % (i + 1), 'job': rng.choice(jobs), 'namespace': ns}
        if rng.random() < 0.9:
            r['priority'] = rng.choice(['high', 'normal'])
        if rng.random() < 0.1:
            r['flow'] = 'legacy'
        elif rng.random() < 0.3:
            r['flow'] = 'priority'
        if rng.random() < 0.9:
            r['submit_at'] = time_value(rng, horizon, tick)
        r['duration'] = time_value(rng, rng.choice([5, 20, 60]), tick)
        if rng.random() < 0.1:
            r['domain'] = rng.choice(['finance', 'ops'])
        for kind in RESOURCES:
            if rng.random() < 0.8:
                v = gen_amount(rng, kind, quotas[ns].get(kind))
                r[kind] = quantity_text(rng, kind, v)
        runs.append(r)
    sc = {'namespaces': namespaces, 'runs': runs}
    if tick != 1 or rng.random() < 0.3:
        sc['tick_seconds'] = tick
    changes = []
    for _ in range(rng.choice([0, 0, 1, 2, 4])):
        ns = rng.choice(names)
        c = {'at': time_value(rng, horizon, tick), 'namespace': ns}
        for kind in RESOURCES:
            if rng.random() < 0.4:
                c[kind] = quantity_text(rng, kind, gen_quota(rng, kind))
        changes.append(c)
    if changes:
        sc['quota_changes'] = changes
    stale = []
    for _ in range(rng.choice([0, 0, 1, 3])):
        # Mostly a few refusals; sometimes a long streak, to reach the
        # backoff's 60 s cap and the head timeout of a refused head.
        times = rng.choice([rng.randint(0, 4), rng.randint(0, 4),
                            rng.randint(5, 12), rng.randint(13, 1000)])
        stale.append({'run': rng.choice(runs)['id'], 'times': times})
    if stale:
        sc['stale_quota'] = stale
    cfg = {}
    sp = {}
    if rng.random() < 0.85:
        sp[P_SHARE] = rng.choice([0, 33, 50, 90, 100, 75, 10,
                                  rng.randint(0, 100)])
    if rng.random() < 0.9:
        sp[P_TIMEOUT] = rng.choice([1, 2, 5, 10, 30, rng.randint(1, 40)])
    if rng.random() < 0.8:
        sp[P_RETRY] = rng.choice([0, 0, 1, 2, 3] if profile != 'busy'
                                 else [0, 2, 5, 8])
    if sp:
        cfg['systemProperties'] = sp
    if rng.random() < 0.8:
        settings = {'batchSize': rng.choice([1, 1, 2, 3, 5, 20])}
        if rng.random() < 0.25:
            # Retention must not change scheduling (ended runs forgotten).
            settings['jobRunCleanup'] = {
                'enabled': rng.random() < 0.8,
                'retentionPeriod': rng.choice([0, 1, 5, 2592000])}
        cfg['services'] = {'jobOrchestrator': {'settings': settings}}
    if rng.random() < 0.06:
        cfg['features'] = {'jobOrchestrator': {'enabled': False}}
    if cfg or rng.random() < 0.5:
        sc['config'] = cfg
    return sc


# --------------------------------------------------------------- checking

class Violation(Exception):
    pass


def need(cond, inv, msg):
    if not cond:
        raise Violation(inv, msg)


def ms(x):
    return refmodel.seconds_to_ms(x)


def check_output(sc, lines):
    """Check invariants a-d, f-k on one run's output lines.  Raises
    Violation(invariant, message)."""
    cfg = refmodel.config_of(sc)
    tick = ms(sc.get('tick_seconds', 1))
    runs = {}
    for r in sc['runs']:
        runs[r['id']] = {
            'ns': r['namespace'], 'prio': r.get('priority', 'normal'),
            'legacy': r.get('flow', 'priority') == 'legacy' or
            not cfg['enabled'],
            'submit_ms': ms(r.get('submit_at', 0)),
            'dur_ms': ms(r['duration']),
            'req': [refmodel.parse_quantity(r[k], k) if k in r else 0
                    for k in RESOURCES]}
    hard = {n: [refmodel.parse_quantity(q[k], k) if k in q else None
                for k in RESOURCES] for n, q in sc['namespaces'].items()}
    changes = sorted(enumerate(sc.get('quota_changes', [])),
                     key=lambda c: (ms(c[1]['at']), c[0]))
    next_change = 0
    used = {n: [0] * 4 for n in hard}
    queues = {}
    state = {rid: 'new' for rid in runs}
    deployed_at = {}
    last_blocked = {}
    last_retry = {}
    refused = {}  # run -> (time of its last refusal, refusals in a row)
    counts = {p: dict.fromkeys(('submitted', 'deployed', 'finished', 'failed',
                                'cancelled', 'rescheduled', 'blocked',
                                'head_timeout_retries'), 0)
              for p in ('high', 'normal')}
    waits = {'high': [], 'normal': []}
    last_t = None
    deploys_in_step = 0
    events = []
    need(lines, 'c', 'no output at all')
    for n, line in enumerate(lines[:-1]):
        e = json.loads(line)
        events.append(e)
        t = ms(e['t'])
        rid = e['run']
        need(rid in runs, 'c', 'event for unknown run: %s' % line)
        r = runs[rid]
        need(e['namespace'] == r['ns'] and e['priority'] == r['prio'],
             'c', 'namespace/priority of %s wrong: %s' % (rid, line))
        # (g) time order and grid
        need(last_t is None or t >= last_t, 'g',
             'time goes backwards at line %d: %s' % (n + 1, line))
        need(t % tick == 0, 'g', 'event off the tick grid: %s' % line)
        if last_t is None or t != last_t:
            deploys_in_step = 0
            while next_change < len(changes) and \
                    ms(changes[next_change][1]['at']) <= t:
                c = changes[next_change][1]
                for d, k in enumerate(RESOURCES):
                    if k in c:
                        hard[c['namespace']][d] = \
                            refmodel.parse_quantity(c[k], k)
                next_change += 1
        last_t = t
        ev = e['event']
        key = {'head_timeout_retry': 'head_timeout_retries'}.get(ev, ev)
        need(key in counts[r['prio']], 'c', 'unknown event: %s' % line)
        counts[r['prio']][key] += 1
        st = state[rid]
        need(st != 'ended', 'c', 'event after the terminal one: %s' % line)
        q = queues.setdefault((r['ns'], r['prio']), [])
        if ev == 'submitted':
            need(st == 'new', 'c', 'submitted twice: %s' % line)
            need(r['submit_ms'] <= t < r['submit_ms'] + tick, 'f',
                 'submitted at %s, submit_at %s, tick %s ms'
                 % (e['t'], r['submit_ms'] / 1000.0, tick))
            state[rid] = 'queued'
            if not r['legacy']:
                q.append(rid)
            continue
        need(st != 'new', 'c', 'event before submitted: %s' % line)
        if ev in ('rescheduled', 'deployed') and rid in refused:
            # (l) SPEC 2.5: each attempt is a rescheduled or a deployed.
            at, n = refused[rid]
            wait = min(2 ** (n - 1), 60) * 1000
            need(t >= at + wait, 'l', '%s tried again at %s, %s s after '
                 'its refusal number %d at %s (backoff %d s): %s'
                 % (rid, e['t'], (t - at) / 1000.0, n, at / 1000.0,
                    wait // 1000, line))
        if ev == 'rescheduled':
            refused[rid] = (t, refused.get(rid, (0, 0))[1] + 1)
        elif ev == 'deployed':
            refused.pop(rid, None)
        if ev in ('blocked', 'rescheduled', 'head_timeout_retry'):
            need(st == 'queued' and not r['legacy'], 'c',
                 '%s for a run not queued: %s' % (ev, line))
            need(q and q[0] == rid, 'a',
                 '%s for %s which is not the head of its queue %s'
                 % (ev, rid, q))
        if ev == 'blocked':
            reason = e.get('reason')
            need(reason in RESOURCES, 'c', 'bad blocked reason: %s' % line)
            d = RESOURCES.index(reason)
            for dd in range(4):
                h = hard[r['ns']][dd]
                avail = None if h is None else h - used[r['ns']][dd]
                fits = avail is None or r['req'][dd] <= avail
                if dd < d:
                    need(fits, 'i', '%s blocked on %s but %s (earlier) is '
                         'short too: req %d avail %s: %s'
                         % (rid, reason, RESOURCES[dd], r['req'][dd], avail,
                            line))
                elif dd == d:
                    need(not fits, 'i', '%s blocked on %s but it fits: req '
                         '%d avail %s: %s' % (rid, reason, r['req'][dd],
                                              avail, line))
                    need(e.get('requested') == r['req'][d] and
                         e.get('available') == avail, 'i',
                         'blocked amounts: expected requested %d available '
                         '%s: %s' % (r['req'][d], avail, line))
            need(last_blocked.get(rid) != reason, 'c',
                 'repeated blocked event for the same reason: %s' % line)
            last_blocked[rid] = reason
        elif ev == 'rescheduled':
            # It fitted (the cluster then refused it): no longer blocked,
            # so its next block is news again.
            last_blocked.pop(rid, None)
            need(e.get('reason') == 'stale_quota', 'c',
                 'rescheduled without reason stale_quota: %s' % line)
        elif ev == 'head_timeout_retry':
            want = last_retry.get(rid, 0) + 1
            need(e.get('retry') == want, 'c', 'retry should be %d: %s'
                 % (want, line))
            need(want <= cfg['retries'], 'c', 'more retries than %d: %s'
                 % (cfg['retries'], line))
            last_retry[rid] = want
        elif ev == 'deployed':
            need(st == 'queued', 'c', 'deployed twice: %s' % line)
            need(ms(e['wait_s']) == t - r['submit_ms'], 'f',
                 'wait_s %s but t - submit_at = %s ms: %s'
                 % (e['wait_s'], t - r['submit_ms'], line))
            waits[r['prio']].append(ms(e['wait_s']))
            if r['legacy']:
                need(e.get('flow') == 'legacy', 'k',
                     'a legacy run deployed with flow %r: %s'
                     % (e.get('flow'), line))
                need(events[-2]['run'] == rid and
                     events[-2]['event'] == 'submitted', 'k',
                     'legacy deploy not right at its submission: %s' % line)
            else:
                need(e.get('flow') == 'priority', 'k',
                     'a priority-flow run deployed with flow %r: %s'
                     % (e.get('flow'), line))
                need(q and q[0] == rid, 'a',
                     '%s deployed while %s is ahead of it in its queue'
                     % (rid, q[0] if q else '?'))
                q.pop(0)
                for d in range(4):
                    h = hard[r['ns']][d]
                    need(h is None or used[r['ns']][d] + r['req'][d] <= h,
                         'b', '%s deployed over %s: used %d + req %d > hard '
                         '%s at t=%s' % (rid, RESOURCES[d], used[r['ns']][d],
                                         r['req'][d], h, e['t']))
                deploys_in_step += 1
                need(deploys_in_step <= cfg['batch'], 'd',
                     '%d priority deployments at t=%s, batchSize %d'
                     % (deploys_in_step, e['t'], cfg['batch']))
            for d in range(4):
                used[r['ns']][d] += r['req'][d]
            deployed_at[rid] = t
            state[rid] = 'running'
        elif ev in TERMINAL:
            if ev == 'cancelled':
                need(st == 'queued', 'c', 'cancelled a run that is not '
                     'queued: %s' % line)
                need(e.get('reason') == 'head_timeout' and e.get('detail'),
                     'c', 'cancelled without reason head_timeout and a '
                     'detail: %s' % line)
                need(q and q[0] == rid, 'a', 'cancelled %s which is not '
                     'the head: %s' % (rid, q))
                q.pop(0)
            elif st == 'running':
                for d in range(4):
                    used[r['ns']][d] -= r['req'][d]
                if ev == 'finished':
                    end = deployed_at[rid] + r['dur_ms']
                    if not r['legacy']:
                        # Deployed in admission, after that step's
                        # reconcile: the earliest finish is the next step.
                        end = max(end, deployed_at[rid] + 1)
                    need(end <= t < end + tick, 'j',
                         '%s finished at %s, deployed %s ms + duration %s ms'
                         % (rid, e['t'], deployed_at[rid], r['dur_ms']))
            else:
                need(ev == 'failed', 'c', '%s of a run not running: %s'
                     % (ev, line))
                need(r['legacy'], 'c', 'a queued priority run failed: %s'
                     % line)
                if r['legacy']:
                    q_legacy_ok = events[-2]['run'] == rid
                    need(q_legacy_ok, 'k', 'legacy failure not at '
                         'submission: %s' % line)
            state[rid] = 'ended'
        else:
            raise Violation('c', 'unknown event %r' % ev)
    for rid, st in state.items():
        need(st == 'ended', 'c', 'run %s never reached a terminal event '
             '(state %s)' % (rid, st))
    summary = json.loads(lines[-1])
    need(list(summary) == ['summary'], 'h', 'last line is not the summary')
    s = summary['summary']
    need(s.get('runs') == len(runs), 'h', 'summary runs %r != %d'
         % (s.get('runs'), len(runs)))
    for p in ('high', 'normal'):
        for k, v in counts[p].items():
            need(s[p].get(k) == v, 'h', 'summary %s.%s = %r, events say %d'
                 % (p, k, s[p].get(k), v))
        w = sorted(waits[p])
        ws = s[p]['wait_s']
        if not w:
            need(ws == {'p50': None, 'p95': None, 'max': None}, 'h',
                 'wait stats without deployments: %r' % ws)
        else:
            need(ms(ws['max']) == w[-1], 'h', 'wait max %r != %s ms'
                 % (ws['max'], w[-1]))
            need(ms(ws['p50']) in w and ms(ws['p95']) in w and
                 ms(ws['p50']) <= ms(ws['p95']) <= w[-1], 'h',
                 'wait percentiles inconsistent: %r vs %r' % (ws, w))
    return events


# Where SPEC leaves a choice, the model follows jobq-sim's choice (see
# refmodel.py): namespaces take turns in the order declared under
# "namespaces". This environment variable selects the other reading:
#   JOBQ_REFMODEL_NS_ORDER=first_use      in the order runs first use them
MODEL_OPTIONS = {
    'ns_order': os.environ.get('JOBQ_REFMODEL_NS_ORDER', 'declared'),
}


def cross_check(sc, lines):
    """Compare with the reference model; raise Violation('x', ...)."""
    # Step the model through every tick when that is cheap, so that
    # jobq-sim's skipping of idle steps is checked against naive stepping;
    # otherwise let the model skip idle steps too.
    end = ms(json.loads(lines[-1])['summary']['end_t'])
    naive = end // ms(sc.get('tick_seconds', 1)) <= 20000
    m = refmodel.simulate(sc, jump=not naive, **MODEL_OPTIONS)
    want = m.events
    got = [json.loads(x) for x in lines[:-1]]
    for i in range(max(len(want), len(got))):
        if i >= len(got) or i >= len(want):
            raise Violation('x', 'stream lengths differ at event %d: sim %s, '
                            'model %s' % (i, got[i] if i < len(got) else
                                          'ended', want[i] if i < len(want)
                                          else 'ended'))
        g, w = got[i], want[i]
        gk = (ms(g['t']), g['event'], g['run'])
        wk = (w['t'], w['event'], w['run'])
        diff = gk != wk
        if not diff:
            ev = w['event']
            if ev == 'blocked':
                diff = (g.get('reason'), g.get('requested'),
                        g.get('available')) != (w['reason'], w['requested'],
                                                w['available'])
            elif ev == 'deployed':
                diff = (ms(g['wait_s']), g.get('flow')) != (w['wait_ms'],
                                                            w['flow'])
            elif ev == 'head_timeout_retry':
                diff = (g.get('retry'), g.get('reason')) != (w['retry'],
                                                             w['reason'])
            elif ev in ('rescheduled', 'cancelled'):
                diff = g.get('reason') != w['reason']
                if ev == 'cancelled' and not diff:
                    # The detail names what blocks the head: the resource
                    # it is short of, and the cluster's refusal quoted
                    # (SPEC 2.5; the simulated cluster says "exceeded
                    # quota").
                    detail = g.get('detail', '')
                    diff = (w['resource'] is not None and
                            w['resource'] not in detail) or \
                        (w['refused'] and 'exceeded quota' not in detail)
        if diff:
            lo = max(0, i - 3)
            ctx = '\n'.join('  sim:   ' + x for x in lines[lo:i + 2])
            raise Violation('x', 'first difference at event %d\n  sim:   %s\n'
                            '  model: %s\ncontext:\n%s'
                            % (i, json.dumps(g), json.dumps(w), ctx))
    s = json.loads(lines[-1])['summary']
    ms_sum = m.summary()
    need(ms(s['end_t']) == ms_sum['end_t'], 'x', 'summary end_t %r, model '
         '%s ms' % (s['end_t'], ms_sum['end_t']))
    for p in ('high', 'normal'):
        for k in ('p50', 'p95', 'max'):
            gv = s[p]['wait_s'][k]
            wv = ms_sum[p]['wait_ms'][k]
            need((gv is None and wv is None) or
                 (gv is not None and wv is not None and ms(gv) == wv), 'x',
                 'summary %s.wait_s.%s = %r, model %r ms' % (p, k, gv, wv))


def run_sim(sim, path):
    p = subprocess.run([sim, path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode('utf-8', 'replace')


def main():
    args = sys.argv[1:]
    if not args:
        sys.stderr.write(__doc__)
        return 2
    sim = args[0]
    runs = int(os.environ.get('JOBQ_PROPERTY_RUNS', '300'))
    seed = int(os.environ.get('JOBQ_PROPERTY_SEED', '20261129'))
    keep = os.environ.get('JOBQ_PROPERTY_KEEP')
    crosscheck = os.environ.get('JOBQ_PROPERTY_CROSSCHECK', '1') != '0'
    i = 1
    while i < len(args):
        if args[i] == '--runs':
            runs = int(args[i + 1])
            i += 2
        elif args[i] == '--seed':
            seed = int(args[i + 1])
            i += 2
        elif args[i] == '--keep':
            keep = args[i + 1]
            i += 2
        else:
            sys.stderr.write('unknown argument %s\n' % args[i])
            return 2
    keep = keep or tempfile.mkdtemp(prefix='jobq-property-')
    os.makedirs(keep, exist_ok=True)
    work = tempfile.mkdtemp(prefix='jobq-property-work-')
    print('# jobq-sim property test: %d scenarios, seeds %d..%d'
          % (runs, seed, seed + runs - 1))
    failures = {k: [] for k, _ in INVARIANTS}
    stats = {'events': 0, 'deployed': 0, 'blocked': 0, 'cancelled': 0,
             'rescheduled': 0, 'head_timeout_retry': 0, 'failed': 0}
    for n in range(runs):
        s = seed + n
        sc = generate(s)
        text = json.dumps(sc, indent=1)
        path = os.path.join(work, 'scenario.json')
        with open(path, 'w') as f:
            f.write(text)
        bad = []
        rc, out1, err = run_sim(sim, path)
        if rc != 0:
            bad.append(('c', 'jobq-sim exited %d: %s' % (rc, err.strip())))
        else:
            rc2, out2, _ = run_sim(sim, path)
            if rc2 != 0 or out1 != out2:
                bad.append(('e', 'two runs of the same scenario differ'))
            text_out = out1.decode('utf-8')
            # Lines end at '\n' only (str.splitlines also splits at
            # U+2028 and friends, which may appear inside JSON strings).
            lines = text_out[:-1].split('\n') if text_out.endswith('\n') \
                else text_out.split('\n')
            try:
                events = check_output(sc, lines)
                for e in events:
                    stats['events'] += 1
                    if e['event'] in stats:
                        stats[e['event']] += 1
            except Violation as v:
                bad.append(v.args)
            except Exception as e:  # a malformed line etc.
                bad.append(('c', 'cannot check the output: %r' % (e,)))
            if crosscheck:
                try:
                    cross_check(sc, lines)
                except Violation as v:
                    bad.append(v.args)
                except Exception as e:  # the model itself failed
                    bad.append(('x', 'reference model error: %r' % (e,)))
        if bad:
            name = os.path.join(keep, 'seed-%d.json' % s)
            with open(name, 'w') as f:
                f.write(text)
            for inv, msg in bad:
                failures[inv].append((s, name, msg))
    shutil.rmtree(work, ignore_errors=True)
    if not any(failures.values()):
        try:
            os.rmdir(keep)  # only if empty (a default temporary one)
        except OSError:
            pass
    else:
        print('# failing scenarios kept in %s' % keep)
    print('# %(events)d events: %(deployed)d deployed, %(blocked)d blocked, '
          '%(rescheduled)d rescheduled, %(head_timeout_retry)d head timeout '
          'retries, %(cancelled)d cancelled, %(failed)d failed' % stats)
    tap = Tap()
    for key, title in INVARIANTS:
        if key == 'x' and not crosscheck:
            continue
        fails = failures[key]

        def verdict(fails=fails):
            if fails:
                lines = ['%d of %d scenarios violate it; first ones:'
                         % (len(fails), runs)]
                for s, name, msg in fails[:3]:
                    lines.append('seed %d, scenario %s:' % (s, name))
                    lines.extend('  ' + x for x in msg.splitlines())
                raise AssertionError('\n'.join(lines))
        tap.check('(%s) %s' % (key, title), verdict)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
