"""A small, independent reference scheduler for jobq-sim scenarios.

It implements SPEC section 2 (scheduling semantics) and section 4 (the
simulator's virtual-time loop and output) directly from the text, with no
knowledge of the C implementation, so that its event stream can be compared
event for event with jobq-sim's.  Python 3 standard library only.

Times are kept in integer milliseconds; resource amounts in base units
(cpu millicores, memory/storage bytes, pods count); None means unlimited
(a namespace dimension the scenario does not declare).

Readings of the SPEC where the text leaves a choice (kept as options so a
disagreement can be narrowed down):

* ns_order: the order in which namespaces take turns.  SPEC 2.3 says only
  "round robin"; 'first_use' (order of first appearance among the runs)
  or 'declared' (order under "namespaces").

Stale quota (SPEC 2.5 as amended), read from the text:

* A refusal ("rescheduled", reason stale_quota) leaves the run at the head;
  its queue is not eligible for the rest of the cycle, and after the n-th
  refusal in a row of that head the queue sits out until 2^(n-1) s (at
  most 60 s) have passed since the refusal: it is eligible again at the
  first step at or after refusal time + backoff.  Other queues go on.
* A refused head counts as blocked for the head timeout: its timer starts
  at the first refusal, or stays where it was if the head was already
  blocked; further refusals and the probe finding that it fits leave it
  alone.  When it expires the head is retried (the timer restarts, as in
  step 2; nothing else changes, so the streak and its backoff stay) or
  cancelled (head_timeout, the detail quoting the cluster's refusal).
* Finding that the head fits ends its shortage of a resource (a later
  block is news again, SPEC 2.4) but not its timer if it was refused.
* A successful deployment ends the streak (the next head starts afresh:
  it is a new head, SPEC 2.2).
"""
from fractions import Fraction
import math
import re

RESOURCES = ('cpu', 'memory', 'pods', 'storage')
PRIORITIES = ('high', 'normal')
P_SHARE = 'job-orchestrator.queue.high.scheduling-share-percentage'
P_TIMEOUT = 'job-orchestrator.queue.head-timeout-seconds'
P_RETRY = 'job-orchestrator.queue.head-retry-count'

_SUFFIX = {
    '': 1, 'n': Fraction(1, 10**9), 'u': Fraction(1, 10**6),
    'm': Fraction(1, 1000), 'k': 10**3, 'M': 10**6, 'G': 10**9,
    'T': 10**12, 'P': 10**15, 'E': 10**18,
    'Ki': 2**10, 'Mi': 2**20, 'Gi': 2**30, 'Ti': 2**40, 'Pi': 2**50,
    'Ei': 2**60,
}
_QTY = re.compile(r'^([+-]?)(\d+\.?\d*|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$')


def parse_quantity(value, kind):
    """A Kubernetes quantity (string or JSON number) in base units."""
    if isinstance(value, bool):
        raise ValueError('not a quantity')
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value)
    else:
        text = value
    m = _QTY.match(text)
    if not m:
        raise ValueError('bad quantity %r' % (text,))
    sign, digits, exp, suffix = m.groups()
    number = Fraction(digits)
    if exp:
        number *= Fraction(10) ** int(exp[1:])
    else:
        number *= _SUFFIX[suffix or '']
    if sign == '-':
        number = -number
    if kind == 'cpu':
        number *= 1000
    if number.denominator != 1:
        raise ValueError('%r is not a whole number of base units' % (text,))
    return int(number)


def seconds_to_ms(x):
    """Seconds (a JSON number) to ms the way the C side does (llround)."""
    return int(math.floor(float(x) * 1000.0 + 0.5))


class Run:
    __slots__ = ('index', 'id', 'job', 'ns', 'prio', 'flow', 'submit_ms',
                 'dur_ms', 'req', 'stale_left', 'domain', 'deployed_at',
                 'retries', 'ended')


class Queue:
    __slots__ = ('runs', 'short', 'since', 'resource', 'requested',
                 'available', 'ineligible_cycle', 'refusals', 'sit_out_until')

    def __init__(self):
        self.runs = []  # run objects, FIFO (index 0 is the head)
        self.reset()
        self.ineligible_cycle = -1

    def reset(self):
        """A new head: nothing known about it."""
        self.short = False     # found not to fit (on self.resource)
        self.since = None      # head-timeout timer start; None: not blocked
        self.resource = None
        self.requested = 0
        self.available = 0
        self.refusals = 0      # refusals in a row of this head
        self.sit_out_until = 0  # backoff after the last refusal (ms)


def config_of(sc):
    cfg = sc.get('config') or {}
    sp = cfg.get('systemProperties') or {}
    settings = ((cfg.get('services') or {}).get('jobOrchestrator') or {}) \
        .get('settings') or {}
    feature = ((cfg.get('features') or {}).get('jobOrchestrator') or {})
    return {
        'share': sp.get(P_SHARE, 90),
        'timeout_ms': sp.get(P_TIMEOUT, 3600) * 1000,
        'retries': sp.get(P_RETRY, 0),
        'batch': settings.get('batchSize', 20),
        'enabled': feature.get('enabled', True),
    }


class Model:
    def __init__(self, sc, ns_order='first_use', max_steps=2000000,
                 jump=True):
        self.sc = sc
        self.cfg = config_of(sc)
        self.max_steps = max_steps
        self.jump = jump  # False: step through every tick (slow, naive)
        self.tick = seconds_to_ms(sc.get('tick_seconds', 1))
        self.hard = {}
        for name, q in sc['namespaces'].items():
            self.hard[name] = [parse_quantity(q[r], r) if r in q else None
                               for r in RESOURCES]
        self.runs = []
        for i, r in enumerate(sc['runs']):
            run = Run()
            run.index = i
            run.id = r['id']
            run.job = r['job']
            run.ns = r['namespace']
            run.prio = PRIORITIES.index(r.get('priority', 'normal'))
            run.flow = r.get('flow', 'priority')
            run.submit_ms = seconds_to_ms(r.get('submit_at', 0))
            run.dur_ms = seconds_to_ms(r['duration'])
            run.req = [parse_quantity(r[k], k) if k in r else 0
                       for k in RESOURCES]
            run.stale_left = 0
            run.domain = r.get('domain', '')
            run.deployed_at = None
            run.retries = 0
            run.ended = False
            self.runs.append(run)
        by_id = {r.id: r for r in self.runs}
        for s in sc.get('stale_quota', []):
            by_id[s['run']].stale_left += s['times']
        self.submit_order = sorted(self.runs,
                                   key=lambda r: (r.submit_ms, r.index))
        self.changes = sorted(
            enumerate(sc.get('quota_changes', [])),
            key=lambda c: (seconds_to_ms(c[1]['at']), c[0]))
        if ns_order == 'declared':
            self.ns_order = list(sc['namespaces'])
        else:
            self.ns_order = []
            for r in self.runs:
                if r.ns not in self.ns_order:
                    self.ns_order.append(r.ns)
        self.queues = {(ns, p): Queue() for ns in self.hard for p in (0, 1)}
        self.wrr = {ns: [0, 0] for ns in self.hard}
        self.used = {ns: [0, 0, 0, 0] for ns in self.hard}
        self.running = []
        self.ns_turn = 0
        self.events = []
        self.cycle = 0
        self.now = 0
        # Per step facts for invariant checkers: (now, ns) -> used after
        # the step's finishes etc. are not needed here; the model is the
        # oracle itself.

    # ---------------------------------------------------------- events
    def emit(self, event, run, **extra):
        ev = {'t': self.now, 'event': event, 'run': run.id, 'job': run.job,
              'namespace': run.ns, 'priority': PRIORITIES[run.prio]}
        if run.domain:
            ev['domain'] = run.domain
        ev.update(extra)
        self.events.append(ev)

    # ---------------------------------------------------------- cluster
    def start(self, run, flow):
        run.deployed_at = self.now
        for d in range(4):
            self.used[run.ns][d] += run.req[d]
        self.running.append(run)
        self.emit('deployed', run, wait_ms=self.now - run.submit_ms,
                  flow=flow)

    def available(self, ns, d):
        hard = self.hard[ns][d]
        if hard is None:
            return None
        return hard - self.used[ns][d]

    # ---------------------------------------------------------- a step
    def submit(self, run):
        self.emit('submitted', run)
        legacy = run.flow == 'legacy' or not self.cfg['enabled']
        if legacy:
            if run.stale_left > 0:
                run.stale_left -= 1
                run.ended = True
                self.emit('failed', run, reason='quota_rejected')
                return
            self.start(run, 'legacy')
        else:
            self.queues[(run.ns, run.prio)].runs.append(run)

    def reconcile(self):
        still = []
        for run in self.running:
            if run.deployed_at + run.dur_ms <= self.now:
                for d in range(4):
                    self.used[run.ns][d] -= run.req[d]
                run.ended = True
                self.emit('finished', run)
            else:
                still.append(run)
        self.running = still

    def head_timeouts(self):
        for ns in self.ns_order:
            for p in (0, 1):
                q = self.queues[(ns, p)]
                if not q.runs or q.since is None:
                    continue
                if self.now - q.since < self.cfg['timeout_ms']:
                    continue
                head = q.runs[0]
                # What blocks it now: a resource it is short of, or else
                # the cluster's refusals.
                why = RESOURCES[q.resource] if q.short else 'stale_quota'
                if head.retries < self.cfg['retries']:
                    head.retries += 1
                    q.since = self.now
                    self.emit('head_timeout_retry', head, retry=head.retries,
                              reason=why)
                else:
                    q.runs.pop(0)
                    head.ended = True
                    self.emit('cancelled', head, reason='head_timeout',
                              resource=RESOURCES[q.resource] if q.short
                              else None,
                              refused=q.refusals > 0,
                              requested=q.requested, available=q.available,
                              retries=head.retries)
                    q.reset()

    def eligible(self, ns):
        return [bool(self.queues[(ns, p)].runs) and
                self.queues[(ns, p)].ineligible_cycle != self.cycle and
                self.now >= self.queues[(ns, p)].sit_out_until
                for p in (0, 1)]

    def serve(self, ns):
        """One namespace's turn; True if it deployed a run."""
        share = self.cfg['share']
        weight = (share, 100 - share)
        wrr = self.wrr[ns]
        while True:
            el = self.eligible(ns)
            chosen = None
            best = None
            for p in (0, 1):  # ties go to high (nginx: first peer wins)
                if el[p] and (chosen is None or wrr[p] + weight[p] > best):
                    chosen, best = p, wrr[p] + weight[p]
            if chosen is None:
                return False
            q = self.queues[(ns, chosen)]
            head = q.runs[0]
            short = None
            for d in range(4):
                avail = self.available(ns, d)
                if avail is not None and head.req[d] > avail:
                    short = (d, avail)
                    break
            if short is not None:
                d, avail = short
                q.ineligible_cycle = self.cycle
                same = q.short and q.resource == d
                if q.since is None:
                    q.since = self.now
                q.short = True
                q.resource = d
                q.requested = head.req[d]
                q.available = avail
                if not same:
                    self.emit('blocked', head, reason=RESOURCES[d],
                              requested=head.req[d], available=avail)
                continue
            q.short = False  # it fits
            if head.stale_left > 0:
                head.stale_left -= 1
                q.ineligible_cycle = self.cycle
                q.refusals += 1
                q.sit_out_until = self.now + \
                    min(2 ** (q.refusals - 1), 60) * 1000
                if q.since is None:
                    q.since = self.now
                self.emit('rescheduled', head, reason='stale_quota')
                continue
            q.runs.pop(0)
            q.reset()
            self.start(head, 'priority')
            total = 0
            for p in (0, 1):
                if el[p]:
                    wrr[p] += weight[p]
                    total += weight[p]
            wrr[chosen] -= total
            return True

    def admit(self):
        budget = self.cfg['batch']
        n = len(self.ns_order)
        if n == 0:
            return
        idle = 0
        turn = self.ns_turn % n
        while budget > 0 and idle < n:
            ns = self.ns_order[turn]
            turn = (turn + 1) % n
            if not any(self.eligible(ns)) or not self.serve(ns):
                idle += 1
                continue
            budget -= 1
            idle = 0
            self.ns_turn = turn

    def step(self, next_submit, next_change):
        while next_change < len(self.changes) and \
                seconds_to_ms(self.changes[next_change][1]['at']) <= self.now:
            c = self.changes[next_change][1]
            for d, r in enumerate(RESOURCES):
                if r in c:
                    self.hard[c['namespace']][d] = parse_quantity(c[r], r)
            next_change += 1
        while next_submit < len(self.submit_order) and \
                self.submit_order[next_submit].submit_ms <= self.now:
            self.submit(self.submit_order[next_submit])
            next_submit += 1
        self.cycle += 1
        self.reconcile()
        self.head_timeouts()
        self.admit()
        return next_submit, next_change

    def run(self):
        next_submit = next_change = 0
        steps = 0
        while True:
            events_before = len(self.events)
            next_submit, next_change = self.step(next_submit, next_change)
            if next_submit == len(self.runs) and \
                    all(r.ended for r in self.runs):
                break
            steps += 1
            if steps > self.max_steps:
                raise RuntimeError('reference model: no end in sight')
            # A step without events changed nothing that matters (WRR
            # state, queues, head timers and used only change with an
            # event), so the following steps repeat it until an input
            # arrives (submission, quota change), a run finishes or a
            # blocked head's timer expires: jump to the first such step.
            if not any(q.runs for q in self.queues.values()) or \
                    (self.jump and len(self.events) == events_before):
                targets = [r.deployed_at + r.dur_ms for r in self.running]
                if next_submit < len(self.runs):
                    targets.append(self.submit_order[next_submit].submit_ms)
                if next_change < len(self.changes):
                    targets.append(seconds_to_ms(
                        self.changes[next_change][1]['at']))
                for q in self.queues.values():
                    if q.runs and q.since is not None:
                        targets.append(q.since + self.cfg['timeout_ms'])
                    if q.runs and q.sit_out_until > self.now:
                        targets.append(q.sit_out_until)
                if not targets and self.jump:
                    raise RuntimeError('reference model: runs remain but '
                                       'nothing can happen to them')
                t = min(targets)
                steps_ahead = max(1, -(-(t - self.now) // self.tick))
                self.now += steps_ahead * self.tick
            else:
                self.now += self.tick
        return self.events

    # ---------------------------------------------------------- summary
    def summary(self):
        out = {'runs': len(self.runs), 'end_t': self.now}
        for p, name in enumerate(PRIORITIES):
            counts = dict.fromkeys(
                ('submitted', 'deployed', 'finished', 'failed', 'cancelled',
                 'rescheduled', 'blocked', 'head_timeout_retries'), 0)
            waits = []
            for ev in self.events:
                if ev['priority'] != name:
                    continue
                key = {'head_timeout_retry': 'head_timeout_retries'}.get(
                    ev['event'], ev['event'])
                counts[key] += 1
                if ev['event'] == 'deployed':
                    waits.append(ev['wait_ms'])
            counts['wait_ms'] = percentiles(waits)
            out[name] = counts
        return out


def percentiles(waits):
    """Nearest-rank p50/p95 and max (None when there are none)."""
    if not waits:
        return {'p50': None, 'p95': None, 'max': None}
    w = sorted(waits)

    def rank(p):
        return w[max(1, -(-len(w) * p // 100)) - 1]
    return {'p50': rank(50), 'p95': rank(95), 'max': w[-1]}


def simulate(sc, **options):
    m = Model(sc, **options)
    m.run()
    return m
