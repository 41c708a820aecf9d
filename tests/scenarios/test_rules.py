#!/usr/bin/python3
"""Black-box scenario tests of jobq-sim: one small scenario per rule of SPEC
section 2 (and the simulator contract of section 4), each asserting the
exact events and times.  TAP output, one line per rule.

  test_rules.py PATH/TO/jobq-sim
"""
import json
import os
import sys
from math import gcd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simlib import (Sim, Tap, scenario, config, run, expect_events, ms,  # noqa
                    GI, MI, RESOURCES, main_args)

SIM = None


def nginx_sequence(share, n, start=(0, 0)):
    """Reference smooth weighted round robin (nginx) over two always
    eligible peers, high first on ties: the priorities of n deployments."""
    w = (share, 100 - share)
    cur = list(start)
    out = []
    for _ in range(n):
        cur[0] += w[0]
        cur[1] += w[1]
        best = 0 if cur[0] >= cur[1] else 1
        cur[best] -= 100
        out.append(('high', 'normal')[best])
    return out


def deployed_priorities(res):
    return [e['priority'] for e in res.of('deployed')]


# ------------------------------------------------------------------ WRR

def wrr_ratio(share):
    """Both queues stay eligible for N deployments (more runs than N in
    each, no quota, batch 7 so the WRR state must persist across cycles):
    the sequence is nginx's and in every window of 100/gcd(share, 100)
    deployments high gets share% of them (+-1)."""
    window = 100 // gcd(share, 100)
    n = max(3 * window, 60)
    runs = []
    for i in range(n + 5):
        runs.append(run('h%d' % i, prio='high', dur=1000))
        runs.append(run('n%d' % i, prio='normal', dur=1000))
    cfg = config(batch=7)
    if share != 90:  # 90 is the default: leave it out once
        cfg = config(share=share, batch=7)
    res = SIM.events(scenario({'a': {}}, runs, cfg))
    got = deployed_priorities(res)[:n]
    assert len(got) == n, 'only %d deployments' % len(got)
    times = [e['t_ms'] for e in res.of('deployed')][:n]
    assert times == [1000 * (i // 7) for i in range(n)], \
        'not 7 deployments per cycle: %r' % times[:20]
    for start in range(0, n - window + 1, window):
        highs = got[start:start + window].count('high')
        want = share * window // 100
        assert abs(highs - want) <= 1, (
            'share %d: window %d..%d has %d high deployments, expected %d+-1'
            % (share, start, start + window, highs, want))
    want = nginx_sequence(share, n)
    assert got == want, 'share %d: sequence differs from smooth WRR:\n' \
        'want %s\ngot  %s' % (share, ''.join(p[0] for p in want),
                              ''.join(p[0] for p in got))
    # FIFO inside each queue
    hs = [e['run'] for e in res.of('deployed') if e['priority'] == 'high']
    assert hs == ['h%d' % i for i in range(len(hs))], hs[:10]


def wrr_only_deployments_charge():
    """Share 50, batch 1. The high head is blocked for 3 cycles while normal
    deploys alone; those deployments must not move the WRR state (only one
    queue eligible), so once high fits again the sequence restarts H N H N
    (ties go to high)."""
    runs = [run('big', prio='high', dur=1, cpu='4')]
    runs += [run('hog', prio='normal', dur=3, cpu='1', flow='legacy')]
    runs += [run('n%d' % i, prio='normal', dur=100, cpu='0') for i in
             range(8)]
    runs += [run('h%d' % i, prio='high', dur=100, cpu='0') for i in range(4)]
    sc = scenario({'a': {'cpu': '4'}}, runs,
                  config(share=50, batch=1, timeout=100))
    res = SIM.events(sc)
    seq = [(e['t'], e['run']) for e in res.of('deployed')
           if e['run'] != 'hog']
    want = [(0, 'n0'), (1, 'n1'), (2, 'n2'), (3, 'big'), (4, 'n3'),
            (5, 'h0'), (6, 'n4'), (7, 'h1'), (8, 'n5'), (9, 'h2'),
            (10, 'n6'), (11, 'h3'), (12, 'n7')]
    assert seq == want, 'want %r\ngot  %r\n%s' % (want, seq, res.stdout)
    assert len(res.of('blocked', 'big')) == 1


# ------------------------------------------------------- work conserving

def work_conserving_share0():
    """Share 0 and only high runs: high still gets every slot."""
    runs = [run('h%d' % i, prio='high', dur=5) for i in range(3)]
    res = SIM.events(scenario({'a': {}}, runs, config(share=0)))
    expect_events(res, [
        (0, 'submitted', 'h0'), (0, 'submitted', 'h1'),
        (0, 'submitted', 'h2'),
        (0, 'deployed', 'h0', {'wait_s': 0, 'flow': 'priority'}),
        (0, 'deployed', 'h1'), (0, 'deployed', 'h2'),
        (5, 'finished', 'h0'), (5, 'finished', 'h1'),
        (5, 'finished', 'h2')])


def work_conserving_share100():
    """Share 100 (strict priority) and only normal runs: normal gets every
    slot; batch 2 spreads them over cycles."""
    runs = [run('n%d' % i, dur=10 + i) for i in range(4)]
    res = SIM.events(scenario({'a': {}}, runs, config(share=100, batch=2)))
    expect_events(res, [
        (0, 'submitted', 'n0'), (0, 'submitted', 'n1'),
        (0, 'submitted', 'n2'), (0, 'submitted', 'n3'),
        (0, 'deployed', 'n0'), (0, 'deployed', 'n1'),
        (1, 'deployed', 'n2', {'wait_s': 1}),
        (1, 'deployed', 'n3', {'wait_s': 1}),
        (10, 'finished', 'n0'), (11, 'finished', 'n1'),
        (13, 'finished', 'n2'), (14, 'finished', 'n3')])


def work_conserving_blocked_high():
    """Default share 90: WRR picks high, its head does not fit, so high is
    not eligible for the rest of the cycle and normal takes every slot."""
    runs = [run('big', prio='high', dur=1, cpu='10')]
    runs += [run('n%d' % i, dur=20 + i, cpu='1') for i in range(3)]
    res = SIM.events(scenario({'a': {'cpu': '4'}}, runs,
                              config(timeout=5)))
    expect_events(res, [
        (0, 'submitted', 'big'), (0, 'submitted', 'n0'),
        (0, 'submitted', 'n1'), (0, 'submitted', 'n2'),
        (0, 'blocked', 'big', {'reason': 'cpu', 'requested': 10000,
                               'available': 4000}),
        (0, 'deployed', 'n0'), (0, 'deployed', 'n1'), (0, 'deployed', 'n2'),
        (5, 'cancelled', 'big', {'reason': 'head_timeout'}),
        (20, 'finished', 'n0'), (21, 'finished', 'n1'),
        (22, 'finished', 'n2')])


# ------------------------------------------------- head-of-line blocking

def head_of_line_blocking():
    """A run behind a blocked head is never deployed, even if it fits; when
    the head fits, both go in the same cycle."""
    runs = [run('n1', dur=10, cpu='3'),
            run('n2', at=1, dur=10, cpu='2'),
            run('n3', at=1, dur=5, cpu='1')]
    res = SIM.events(scenario({'a': {'cpu': '4'}}, runs,
                              config(timeout=100)))
    expect_events(res, [
        (0, 'submitted', 'n1'), (0, 'deployed', 'n1', {'wait_s': 0}),
        (1, 'submitted', 'n2'), (1, 'submitted', 'n3'),
        (1, 'blocked', 'n2', {'reason': 'cpu', 'requested': 2000,
                              'available': 1000}),
        (10, 'finished', 'n1'),
        (10, 'deployed', 'n2', {'wait_s': 9}),
        (10, 'deployed', 'n3', {'wait_s': 9}),
        (15, 'finished', 'n3'), (20, 'finished', 'n2')])


def head_of_line_other_queue():
    """Blocking is per queue: a blocked high head does not stop the normal
    queue of the same namespace, nor a high run of another namespace."""
    runs = [run('a1', ns='a', prio='high', dur=1, cpu='100'),
            run('a2', ns='a', prio='high', dur=1, cpu='0'),
            run('a3', ns='a', prio='normal', dur=7, cpu='1'),
            run('b1', ns='b', prio='high', dur=8, cpu='1')]
    res = SIM.events(scenario({'a': {'cpu': '4'}, 'b': {'cpu': '4'}}, runs,
                              config(timeout=3)))
    expect_events(res, [
        (0, 'submitted', 'a1'), (0, 'submitted', 'a2'),
        (0, 'submitted', 'a3'), (0, 'submitted', 'b1'),
        (0, 'blocked', 'a1', {'reason': 'cpu', 'requested': 100000,
                              'available': 4000}),
        (0, 'deployed', 'a3'), (0, 'deployed', 'b1'),
        (3, 'cancelled', 'a1', {'reason': 'head_timeout'}),
        (3, 'deployed', 'a2', {'wait_s': 3}),
        (4, 'finished', 'a2'), (7, 'finished', 'a3'),
        (8, 'finished', 'b1')])


# --------------------------------------------------------- block reasons

QUOTA = {'cpu': '4', 'memory': '8Gi', 'pods': 3, 'storage': '10Gi'}
QUOTA_BASE = {'cpu': 4000, 'memory': 8 * GI, 'pods': 3, 'storage': 10 * GI}
FITS = {'cpu': '1', 'memory': '1Gi', 'pods': 1, 'storage': '1Gi'}
TOO_BIG = {'cpu': '5', 'memory': '9Gi', 'pods': 4, 'storage': '11Gi'}
TOO_BIG_BASE = {'cpu': 5000, 'memory': 9 * GI, 'pods': 4,
                'storage': 11 * GI}


def block_reason(short):
    """The run is short on the dimensions in `short`; the blocked event
    names the first in the order cpu, memory, pods, storage."""
    def test():
        req = dict(FITS)
        for d in short:
            req[d] = TOO_BIG[d]
        first = [d for d in RESOURCES if d in short][0]
        res = SIM.events(scenario({'a': QUOTA}, [run('r', dur=1, **req)],
                                  config(timeout=2)))
        expect_events(res, [
            (0, 'submitted', 'r'),
            (0, 'blocked', 'r', {'reason': first,
                                 'requested': TOO_BIG_BASE[first],
                                 'available': QUOTA_BASE[first]}),
            (2, 'cancelled', 'r', {'reason': 'head_timeout'})])
        detail = res.of('cancelled')[0]['detail']
        assert first in detail, 'detail does not name %s: %r' % (first,
                                                                 detail)
    return test


def blocked_not_repeated_and_reason_change():
    """No repeated blocked event while the reason stays the same (the head
    is re-examined every cycle, available changes); a new one when the
    reason changes. A legacy run's usage counts in the cluster's used."""
    runs = [run('x1', dur=10, cpu='3', memory='1Gi'),
            run('y1', dur=20, cpu='0', memory='3Gi', flow='legacy'),
            run('x2', at=1, dur=2, cpu='0', memory='0', job='other'),
            run('h', at=1, dur=5, cpu='2', memory='2Gi')]
    # x2 is in the same (normal) queue, behind h? No: it is submitted
    # before h, so it deploys at 1 ahead of h.
    res = SIM.events(scenario({'a': {'cpu': '4', 'memory': '4Gi'}}, runs,
                              config(timeout=100)))
    expect_events(res, [
        (0, 'submitted', 'x1'), (0, 'submitted', 'y1'),
        (0, 'deployed', 'y1', {'flow': 'legacy', 'wait_s': 0}),
        (0, 'deployed', 'x1', {'flow': 'priority'}),
        (1, 'submitted', 'x2'), (1, 'submitted', 'h'),
        (1, 'deployed', 'x2'),
        (1, 'blocked', 'h', {'reason': 'cpu', 'requested': 2000,
                             'available': 1000}),
        (3, 'finished', 'x2'),
        (10, 'finished', 'x1'),
        (10, 'blocked', 'h', {'reason': 'memory', 'requested': 2 * GI,
                              'available': 1 * GI}),
        (20, 'finished', 'y1'),
        (20, 'deployed', 'h', {'wait_s': 19}),
        (25, 'finished', 'h')])


def blocked_negative_available():
    """Quota cut below what is in use: the head is blocked with the real
    (here zero or less) availability, and nothing is deployed."""
    runs = [run('r1', dur=10, cpu='3'), run('r2', at=1, dur=1, cpu='1')]
    res = SIM.events(scenario(
        {'a': {'cpu': '4'}}, runs, config(timeout=100),
        quota_changes=[{'at': 1, 'namespace': 'a', 'cpu': '2'}]))
    expect_events(res, [
        (0, 'submitted', 'r1'), (0, 'deployed', 'r1'),
        (1, 'submitted', 'r2'),
        (1, 'blocked', 'r2', {'reason': 'cpu', 'requested': 1000}),
        (10, 'finished', 'r1'), (10, 'deployed', 'r2', {'wait_s': 9}),
        (11, 'finished', 'r2')])
    avail = res.of('blocked')[0]['available']
    assert avail in (-1000, 0), 'available %r (hard 2000 - used 3000)' % avail


# ---------------------------------------------------------- head timeout

def head_timeout_no_retry():
    """0 retries: cancelled exactly head-timeout-seconds after it was found
    blocked; the next head's timer starts only when it is itself found
    blocked (here right away, at the cancel), and the run behind it deploys
    when that one is cancelled in turn."""
    runs = [run('h1', dur=1, cpu='8'), run('h2', dur=1, cpu='6'),
            run('h3', dur=10, cpu='1')]
    res = SIM.events(scenario({'a': {'cpu': '4'}}, runs,
                              config(timeout=10, retries=0)))
    expect_events(res, [
        (0, 'submitted', 'h1'), (0, 'submitted', 'h2'),
        (0, 'submitted', 'h3'),
        (0, 'blocked', 'h1', {'reason': 'cpu', 'requested': 8000,
                              'available': 4000}),
        (10, 'cancelled', 'h1', {'reason': 'head_timeout'}),
        (10, 'blocked', 'h2', {'reason': 'cpu', 'requested': 6000,
                               'available': 4000}),
        (20, 'cancelled', 'h2', {'reason': 'head_timeout'}),
        (20, 'deployed', 'h3', {'wait_s': 20}),
        (30, 'finished', 'h3')])
    d = res.of('cancelled', 'h1')[0]['detail']
    assert 'cpu' in d and ('8' in d) and ('4' in d) and '0' in d, \
        'detail should name the resource, the amounts and the retries: %r' % d


def head_timeout_next_head_timer():
    """The next head's timer starts when it is found blocked, not when it
    became head: h2 fits when h1 is cancelled at 10 but is blocked only at
    12 (after a legacy run took the cpu), so it is cancelled at 22."""
    runs = [run('h1', dur=1, cpu='8'),
            run('h2', dur=100, cpu='3'),
            run('h3', dur=1, cpu='3'),
            run('L', at=11, dur=50, cpu='4', flow='legacy', job='leg')]
    res = SIM.events(scenario({'a': {'cpu': '4'}}, runs,
                              config(timeout=10, retries=0, batch=1)))
    expect_events(res, [
        (0, 'submitted', 'h1'), (0, 'submitted', 'h2'),
        (0, 'submitted', 'h3'),
        (0, 'blocked', 'h1', {'reason': 'cpu'}),
        (10, 'cancelled', 'h1', {'reason': 'head_timeout'}),
        (10, 'deployed', 'h2', {'wait_s': 10}),
        (11, 'submitted', 'L'), (11, 'deployed', 'L', {'flow': 'legacy'}),
        (11, 'blocked', 'h3', {'reason': 'cpu', 'requested': 3000,
                               'available': -3000}),
        (21, 'cancelled', 'h3', {'reason': 'head_timeout'}),
        (61, 'finished', 'L'), (110, 'finished', 'h2')])


def head_timeout_retries():
    """3 retries: head_timeout_retry with retry 1, 2, 3 every timeout, then
    cancelled; the detail names the resource, the amounts and the
    retries."""
    runs = [run('big', prio='high', dur=1, memory='10Gi')]
    res = SIM.events(scenario({'a': {'memory': '8Gi'}}, runs,
                              config(timeout=10, retries=3)))
    expect_events(res, [
        (0, 'submitted', 'big'),
        (0, 'blocked', 'big', {'reason': 'memory', 'requested': 10 * GI,
                               'available': 8 * GI}),
        (10, 'head_timeout_retry', 'big', {'retry': 1}),
        (20, 'head_timeout_retry', 'big', {'retry': 2}),
        (30, 'head_timeout_retry', 'big', {'retry': 3}),
        (40, 'cancelled', 'big', {'reason': 'head_timeout'})])
    d = res.of('cancelled')[0]['detail']
    assert 'memory' in d and '3' in d and ('10Gi' in d or
                                           str(10 * GI) in d), d


def head_timeout_retry_then_fits():
    """Retries restart the timer; when the blocker finishes during a retry
    period the head is deployed (no cancel)."""
    runs = [run('hog', dur=15, cpu='4'),
            run('big', at=1, dur=2, cpu='2')]
    res = SIM.events(scenario({'a': {'cpu': '4'}}, runs,
                              config(timeout=10, retries=1)))
    expect_events(res, [
        (0, 'submitted', 'hog'), (0, 'deployed', 'hog'),
        (1, 'submitted', 'big'),
        (1, 'blocked', 'big', {'reason': 'cpu', 'requested': 2000,
                               'available': 0}),
        (11, 'head_timeout_retry', 'big', {'retry': 1}),
        (15, 'finished', 'hog'), (15, 'deployed', 'big', {'wait_s': 14}),
        (17, 'finished', 'big')])


def head_timeout_tick3():
    """tick_seconds 3, timeout 10, 2 retries: the timeout is noticed at the
    first step >= blocked_since + 10, and the timer restarts at that step."""
    runs = [run('big', dur=1, pods=5)]
    res = SIM.events(scenario({'a': {'pods': 2}}, runs,
                              config(timeout=10, retries=2),
                              tick_seconds=3))
    expect_events(res, [
        (0, 'submitted', 'big'),
        (0, 'blocked', 'big', {'reason': 'pods', 'requested': 5,
                               'available': 2}),
        (12, 'head_timeout_retry', 'big', {'retry': 1}),
        (24, 'head_timeout_retry', 'big', {'retry': 2}),
        (36, 'cancelled', 'big', {'reason': 'head_timeout'})])


# ----------------------------------------------------- namespace isolation

def namespace_isolation():
    """A blocked head in namespace A never delays namespace B, in either
    priority; A's own queues stay blocked."""
    runs = [run('a1', ns='a', prio='high', dur=1, storage='2Ti'),
            run('a2', ns='a', prio='high', dur=2),
            run('b1', ns='b', prio='high', dur=5, storage='900Gi'),
            run('b2', ns='b', prio='normal', dur=7, storage='100Gi')]
    nss = {'a': {'storage': '1Ti'}, 'b': {'storage': '1Ti'}}
    res = SIM.events(scenario(nss, runs, config(timeout=4)))
    expect_events(res, [
        (0, 'submitted', 'a1'), (0, 'submitted', 'a2'),
        (0, 'submitted', 'b1'), (0, 'submitted', 'b2'),
        (0, 'blocked', 'a1', {'reason': 'storage', 'requested': 2 * 2**40,
                              'available': 2**40}),
        (0, 'deployed', 'b1'), (0, 'deployed', 'b2'),
        (4, 'cancelled', 'a1'), (4, 'deployed', 'a2', {'wait_s': 4}),
        (5, 'finished', 'b1'), (6, 'finished', 'a2'),
        (7, 'finished', 'b2')])


# -------------------------------------------------------------- batching

def batch_cap_round_robin():
    """batchSize 2 over three namespaces: at most 2 deployments per cycle,
    namespaces take turns and the turn pointer persists across cycles (it
    moves to the namespace after the one that deployed)."""
    runs = []
    for ns in 'abc':
        for i in range(3):
            runs.append(run('%s%d' % (ns.lower(), i), ns=ns, dur=100))
    res = SIM.events(scenario({'a': {}, 'b': {}, 'c': {}}, runs,
                              config(batch=2)))
    dep = [(e['t'], e['run']) for e in res.of('deployed')]
    want = [(0, 'a0'), (0, 'b0'), (1, 'c0'), (1, 'a1'), (2, 'b1'),
            (2, 'c1'), (3, 'a2'), (3, 'b2'), (4, 'c2')]
    assert dep == want, 'want %r\ngot  %r' % (want, dep)


def batch_cap_skips_idle_namespace():
    """A namespace with nothing eligible does not use a slot or the turn:
    A's only run is blocked, B and C share the slots."""
    runs = [run('a0', ns='a', dur=1, cpu='2')]
    for ns in 'bc':
        for i in range(2):
            runs.append(run('%s%d' % (ns.lower(), i), ns=ns, dur=100))
    res = SIM.events(scenario({'a': {'cpu': '1'}, 'b': {}, 'c': {}}, runs,
                              config(batch=1, timeout=100)))
    dep = [(e['t'], e['run']) for e in res.of('deployed')]
    want = [(0, 'b0'), (1, 'c0'), (2, 'b1'), (3, 'c1')]
    assert dep == want, 'want %r\ngot  %r\n%s' % (want, dep, res.stdout)
    assert [(e['t'], e['run']) for e in res.of('blocked')] == [(0, 'a0')]


# ------------------------------------------------------------ legacy flow

def legacy_bypass():
    """Legacy runs are deployed at the step of their submission, not counted
    in batchSize, with no resource check and flow legacy; their usage
    counts in the cluster's used."""
    runs = [run('L1', dur=5, cpu='3', flow='legacy', job='leg'),
            run('p1', dur=5, cpu='2', flow='priority'),
            run('p0', prio='high', dur=2, cpu='1'),
            run('L2', at=2.5, dur=1, cpu='10', flow='legacy', job='leg')]
    res = SIM.events(scenario({'a': {'cpu': '4'}}, runs,
                              config(batch=1, timeout=100)))
    expect_events(res, [
        (0, 'submitted', 'L1'),
        (0, 'deployed', 'L1', {'flow': 'legacy', 'wait_s': 0}),
        (0, 'submitted', 'p1'), (0, 'submitted', 'p0'),
        (0, 'deployed', 'p0', {'flow': 'priority', 'wait_s': 0}),
        (1, 'blocked', 'p1', {'reason': 'cpu', 'requested': 2000,
                              'available': 0}),
        (2, 'finished', 'p0'),
        (3, 'submitted', 'L2'),
        (3, 'deployed', 'L2', {'flow': 'legacy', 'wait_s': 0.5}),
        (4, 'finished', 'L2'),
        (5, 'finished', 'L1'),
        (5, 'deployed', 'p1', {'flow': 'priority', 'wait_s': 5}),
        (10, 'finished', 'p1')])


def legacy_many_in_one_step():
    """batchSize 1 does not limit legacy deployments."""
    runs = [run('L%d' % i, dur=3, flow='legacy', job='leg') for i in
            range(5)] + [run('p', dur=3)]
    res = SIM.events(scenario({'a': {}}, runs, config(batch=1)))
    dep = [(e['t'], e['run'], e['flow']) for e in res.of('deployed')]
    assert dep == [(0, 'L%d' % i, 'legacy') for i in range(5)] + \
        [(0, 'p', 'priority')], dep


def disabled_system_wide():
    """features.jobOrchestrator.enabled = false: every run takes the legacy
    path (deployed at submission, flow legacy, no resource check, no
    batch cap)."""
    runs = [run('r%d' % i, prio=('high', 'normal')[i % 2], at=i // 2,
                dur=4, cpu='2', flow='priority') for i in range(4)]
    res = SIM.events(scenario({'a': {'cpu': '1'}}, runs,
                              config(enabled=False, batch=1)))
    expect_events(res, [
        (0, 'submitted', 'r0'), (0, 'deployed', 'r0', {'flow': 'legacy'}),
        (0, 'submitted', 'r1'), (0, 'deployed', 'r1', {'flow': 'legacy'}),
        (1, 'submitted', 'r2'), (1, 'deployed', 'r2', {'flow': 'legacy'}),
        (1, 'submitted', 'r3'), (1, 'deployed', 'r3', {'flow': 'legacy'}),
        (4, 'finished', 'r0'), (4, 'finished', 'r1'),
        (5, 'finished', 'r2'), (5, 'finished', 'r3')])


# ------------------------------------------------------------ stale quota

def stale_quota():
    """A quota rejection puts the run back at the head (original position):
    rescheduled (stale_quota), one attempt per cycle, its queue sits out the
    rest of the cycle while the other queue of the namespace still
    deploys; then 1 s after the first refusal, 2 s after the second
    (SPEC 2.5 backoff), nothing behind it moving meanwhile."""
    runs = [run('h1', prio='high', dur=10), run('h2', prio='high', dur=11),
            run('n1', dur=10), run('n2', dur=11)]
    res = SIM.events(scenario({'a': {}}, runs, config(),
                              stale_quota=[{'run': 'h1', 'times': 2}]))
    expect_events(res, [
        (0, 'submitted', 'h1'), (0, 'submitted', 'h2'),
        (0, 'submitted', 'n1'), (0, 'submitted', 'n2'),
        (0, 'rescheduled', 'h1', {'reason': 'stale_quota'}),
        (0, 'deployed', 'n1'), (0, 'deployed', 'n2'),
        (1, 'rescheduled', 'h1', {'reason': 'stale_quota'}),
        (3, 'deployed', 'h1', {'wait_s': 3}),
        (3, 'deployed', 'h2', {'wait_s': 3}),
        (10, 'finished', 'n1'), (11, 'finished', 'n2'),
        (13, 'finished', 'h1'), (14, 'finished', 'h2')])


def stale_quota_other_namespace():
    """A stale rejection ends only that queue's chances in this cycle:
    with batch 1 the slot goes to the next namespace in turn."""
    runs = [run('a1', ns='a', dur=5), run('b1', ns='b', dur=7)]
    res = SIM.events(scenario({'a': {}, 'b': {}}, runs, config(batch=1),
                              stale_quota=[{'run': 'a1', 'times': 1}]))
    expect_events(res, [
        (0, 'submitted', 'a1'), (0, 'submitted', 'b1'),
        (0, 'rescheduled', 'a1', {'reason': 'stale_quota'}),
        (0, 'deployed', 'b1'),
        (1, 'deployed', 'a1', {'wait_s': 1}),
        (6, 'finished', 'a1'), (7, 'finished', 'b1')])


def refusal_times(n, start=0):
    """When the n refusals of a head refused every time it may be tried
    happen: after the k-th the queue sits out 2^(k-1) s, at most 60 s."""
    t, out = start, []
    for k in range(1, n + 1):
        out.append(t)
        t += min(2 ** (k - 1), 60)
    return out, t


def stale_quota_backoff_sequence():
    """SPEC 2.5: ten refusals in a row of one head at 0, 1, 3, 7, 15, 31,
    63, 123, 183, 243 (waits 1, 2, 4, ..., 32, then capped at 60 s), and
    the eleventh attempt deploys it at 303. Nothing behind it moves
    meanwhile; no cycle in between tries it."""
    times, deploy_at = refusal_times(10)
    assert times == [0, 1, 3, 7, 15, 31, 63, 123, 183, 243] and \
        deploy_at == 303
    runs = [run('r', prio='high', dur=5), run('h2', prio='high', dur=5)]
    res = SIM.events(scenario({'a': {}}, runs, config(timeout=3600),
                              stale_quota=[{'run': 'r', 'times': 10}]))
    expect_events(res, [(0, 'submitted', 'r'), (0, 'submitted', 'h2')] +
                  [(t, 'rescheduled', 'r', {'reason': 'stale_quota'})
                   for t in times] +
                  [(303, 'deployed', 'r', {'wait_s': 303}),
                   (303, 'deployed', 'h2', {'wait_s': 303}),
                   (308, 'finished', 'r'), (308, 'finished', 'h2')])


def stale_quota_backoff_others_go_on():
    """While a refused head sits out, the other queue of its namespace and
    other namespaces deploy at once, whenever their runs arrive; the
    refused queue's WRR share is not charged (only deployments are)."""
    runs = [run('r', prio='high', dur=5),
            run('n1', at=2, dur=3), run('n2', at=10, dur=3),
            run('b1', ns='b', prio='high', at=5, dur=3),
            run('b2', ns='b', at=20, dur=3)]
    res = SIM.events(scenario({'a': {}, 'b': {}}, runs,
                              config(timeout=3600, batch=1),
                              stale_quota=[{'run': 'r', 'times': 6}]))
    times, deploy_at = refusal_times(6)  # 0 1 3 7 15 31 -> 63
    ev = [(e['t'], e['event'], e['run']) for e in res.events]
    for rid, t in (('n1', 2), ('n2', 10), ('b1', 5), ('b2', 20)):
        assert (t, 'deployed', rid) in ev, \
            '%s should deploy at %d while r sits out:\n%s' % (rid, t,
                                                             res.stdout)
    assert [e['t'] for e in res.of('rescheduled', 'r')] == times, res.stdout
    assert [e['t'] for e in res.of('deployed', 'r')] == [deploy_at], \
        res.stdout


def stale_quota_timer_from_first_refusal():
    """A refused head counts as blocked from its first refusal (here at 5,
    when it is submitted): the refusals at 6, 8, 12, 20 and the probe
    saying it fits do not restart the timer, so with head timeout 20 s and
    no retries it is cancelled at 25, the detail quoting the cluster."""
    runs = [run('r', at=5, dur=5)]
    res = SIM.events(scenario({'a': {'cpu': '4'}}, runs,
                              config(timeout=20, retries=0),
                              stale_quota=[{'run': 'r', 'times': 100}]))
    expect_events(res, [(5, 'submitted', 'r')] +
                  [(t, 'rescheduled', 'r') for t in (5, 6, 8, 12, 20)] +
                  [(25, 'cancelled', 'r', {'reason': 'head_timeout'})])
    d = res.of('cancelled', 'r')[0]['detail']
    assert 'exceeded quota in namespace a' in d and \
        'refused by the cluster 5 times' in d, d


def stale_quota_timer_kept_from_block():
    """A head found blocked (cpu, at 0) that then fits (the hog finishes at
    4) and is refused keeps its timer from 0: cancelled at 10 (timeout 10,
    no retries), the detail quoting the cluster's refusal, not a resource
    it is no longer short of. The refusals at 4, 5, 7 are news; the block
    at 0 is the only blocked event."""
    runs = [run('hog', dur=4, cpu='4'), run('r', dur=1, cpu='1')]
    res = SIM.events(scenario({'a': {'cpu': '4'}}, runs,
                              config(timeout=10, retries=0),
                              stale_quota=[{'run': 'r', 'times': 50}]))
    expect_events(res, [
        (0, 'submitted', 'hog'), (0, 'submitted', 'r'),
        (0, 'deployed', 'hog'),
        (0, 'blocked', 'r', {'reason': 'cpu', 'requested': 1000,
                             'available': 0}),
        (4, 'finished', 'hog'),
        (4, 'rescheduled', 'r'), (5, 'rescheduled', 'r'),
        (7, 'rescheduled', 'r'),
        (10, 'cancelled', 'r', {'reason': 'head_timeout'})])
    d = res.of('cancelled', 'r')[0]['detail']
    assert 'exceeded quota' in d and 'on cpu' not in d, d


def stale_quota_head_timeout_retry_then_cancel():
    """Head timeout 10 s, one retry: refused at 0, 1, 3, 7; at 10 the retry
    (reason stale_quota) restarts the timer but keeps the backoff, so the
    next attempt is still at 15 (refusal 5, sitting out 16 s); cancelled
    at 20 with the cluster's last refusal quoted and the retry counted."""
    runs = [run('r', prio='high', dur=5)]
    res = SIM.events(scenario({'a': {}}, runs, config(timeout=10, retries=1),
                              stale_quota=[{'run': 'r', 'times': 100}]))
    expect_events(res, [(0, 'submitted', 'r')] +
                  [(t, 'rescheduled', 'r') for t in (0, 1, 3, 7)] +
                  [(10, 'head_timeout_retry', 'r',
                    {'retry': 1, 'reason': 'stale_quota'}),
                   (15, 'rescheduled', 'r'),
                   (20, 'cancelled', 'r', {'reason': 'head_timeout'})])
    d = res.of('cancelled', 'r')[0]['detail']
    assert 'refused by the cluster 5 times' in d and \
        'exceeded quota in namespace a (simulated stale quota)' in d and \
        '1 of 1 retries' in d, d


def stale_quota_success_ends_streak():
    """Head timeout 5 s: r1, refused at 0, 1, 3, is cancelled at 5 (its
    timer ran from its first refusal). r2, the next head, is a new head:
    its first refusal (at 5, the same cycle) backs off 1 s, not 8, its
    second 2 s, and it deploys at 8; its timer started at its own first
    refusal, so the 5 s timeout has not yet expired."""
    runs = [run('r1', dur=20), run('r2', dur=20)]
    res = SIM.events(scenario({'a': {}}, runs, config(timeout=5),
                              stale_quota=[{'run': 'r1', 'times': 3},
                                           {'run': 'r2', 'times': 2}]))
    expect_events(res, [
        (0, 'submitted', 'r1'), (0, 'submitted', 'r2'),
        (0, 'rescheduled', 'r1'), (1, 'rescheduled', 'r1'),
        (3, 'rescheduled', 'r1'),
        (5, 'cancelled', 'r1', {'reason': 'head_timeout'}),
        (5, 'rescheduled', 'r2'), (6, 'rescheduled', 'r2'),
        (8, 'deployed', 'r2', {'wait_s': 8}),
        (28, 'finished', 'r2')])


def stale_quota_success_ends_streak_long_timeout():
    """As above with a head timeout that does not interfere: r1 deployed
    at 7 after 3 refusals; r2's refusals at 7 and 8 back off 1 and 2 s
    (a fresh streak), so it deploys at 10."""
    runs = [run('r1', dur=20), run('r2', dur=20)]
    res = SIM.events(scenario({'a': {}}, runs, config(timeout=3600),
                              stale_quota=[{'run': 'r1', 'times': 3},
                                           {'run': 'r2', 'times': 2}]))
    expect_events(res, [
        (0, 'submitted', 'r1'), (0, 'submitted', 'r2'),
        (0, 'rescheduled', 'r1'), (1, 'rescheduled', 'r1'),
        (3, 'rescheduled', 'r1'),
        (7, 'deployed', 'r1', {'wait_s': 7}),
        (7, 'rescheduled', 'r2'), (8, 'rescheduled', 'r2'),
        (10, 'deployed', 'r2', {'wait_s': 10}),
        (27, 'finished', 'r1'), (30, 'finished', 'r2')])


def stale_quota_async_counts():
    """An asynchronous refusal ("async": true: the cluster accepts the
    deployment and refuses it when next polled, as a Spark operator whose
    driver pod is refused) counts like a synchronous one: deployed at 0,
    refused at 1 (sits out 1 s), deployed at 2, refused at 3 (2 s),
    deployed at 5, refused at 6 (4 s), deployed for good at 10. The normal
    queue goes on meanwhile."""
    runs = [run('r', prio='high', dur=5), run('n1', dur=100)]
    res = SIM.events(scenario({'a': {}}, runs, config(timeout=3600),
                              stale_quota=[{'run': 'r', 'times': 3,
                                            'async': True}]))
    expect_events(res, [
        (0, 'submitted', 'r'), (0, 'submitted', 'n1'),
        (0, 'deployed', 'r', {'wait_s': 0}), (0, 'deployed', 'n1'),
        (1, 'rescheduled', 'r', {'reason': 'stale_quota'}),
        (2, 'deployed', 'r', {'wait_s': 2}),
        (3, 'rescheduled', 'r', {'reason': 'stale_quota'}),
        (5, 'deployed', 'r', {'wait_s': 5}),
        (6, 'rescheduled', 'r', {'reason': 'stale_quota'}),
        (10, 'deployed', 'r', {'wait_s': 10}),
        (15, 'finished', 'r'), (100, 'finished', 'n1')])


def stale_quota_async_times_out():
    """Asynchronous refusals start the head timer at the first one (1) and
    never restart it: head timeout 8 s, cancelled at 9 while sitting out
    after the third refusal, the detail quoting the cluster."""
    runs = [run('r', dur=5)]
    res = SIM.events(scenario({'a': {}}, runs, config(timeout=8),
                              stale_quota=[{'run': 'r', 'times': 50,
                                            'async': True}]))
    expect_events(res, [
        (0, 'submitted', 'r'), (0, 'deployed', 'r'),
        (1, 'rescheduled', 'r'), (2, 'deployed', 'r'),
        (3, 'rescheduled', 'r'), (5, 'deployed', 'r'),
        (6, 'rescheduled', 'r'),
        (9, 'cancelled', 'r', {'reason': 'head_timeout'})])
    d = res.of('cancelled', 'r')[0]['detail']
    assert 'refused by the cluster 3 times' in d and \
        'reported after the deployment' in d, d


# ---------------------------------------------------------- quota changes

def quota_changes():
    """Quota changes apply at the start of the first step with at <= now,
    before that step's submissions and cycle."""
    runs = [run('r1', dur=3, cpu='4'),
            run('r2', at=20, dur=2, cpu='8'),
            run('r3', at=30, dur=1, cpu='2')]
    changes = [{'at': 5, 'namespace': 'a', 'cpu': '4'},
               {'at': 20, 'namespace': 'a', 'cpu': '8'},
               {'at': 29.5, 'namespace': 'a', 'cpu': '1'},
               {'at': 40.2, 'namespace': 'a', 'cpu': '2'}]
    res = SIM.events(scenario({'a': {'cpu': '2'}}, runs,
                              config(timeout=100), quota_changes=changes))
    expect_events(res, [
        (0, 'submitted', 'r1'),
        (0, 'blocked', 'r1', {'reason': 'cpu', 'requested': 4000,
                              'available': 2000}),
        (5, 'deployed', 'r1', {'wait_s': 5}),
        (8, 'finished', 'r1'),
        (20, 'submitted', 'r2'), (20, 'deployed', 'r2', {'wait_s': 0}),
        (22, 'finished', 'r2'),
        (30, 'submitted', 'r3'),
        (30, 'blocked', 'r3', {'reason': 'cpu', 'requested': 2000,
                               'available': 1000}),
        (41, 'deployed', 'r3', {'wait_s': 11}),
        (42, 'finished', 'r3')])


def quota_change_other_dimension():
    """A change names only some dimensions; the others keep their value.
    Adding a dimension that was unlimited makes it limited."""
    runs = [run('r1', at=2, dur=1, cpu='1', pods=3)]
    changes = [{'at': 1, 'namespace': 'a', 'pods': 2},
               {'at': 6, 'namespace': 'a', 'pods': '3'}]
    res = SIM.events(scenario({'a': {'cpu': '1'}}, runs,
                              config(timeout=100), quota_changes=changes))
    expect_events(res, [
        (2, 'submitted', 'r1'),
        (2, 'blocked', 'r1', {'reason': 'pods', 'requested': 3,
                              'available': 2}),
        (6, 'deployed', 'r1', {'wait_s': 4}), (7, 'finished', 'r1')])


# ----------------------------------------------- finishing releases, time

def quota_changes_ties():
    """Changes are applied in order of `at`, ties in input order (the later
    one wins), whatever their order in the input."""
    runs = [run('r1', at=3, dur=1, cpu='3')]
    changes = [{'at': 2, 'namespace': 'a', 'cpu': '3'},
               {'at': 2, 'namespace': 'a', 'cpu': '2'},
               {'at': 1, 'namespace': 'a', 'cpu': '8'},
               {'at': 6, 'namespace': 'a', 'cpu': '1'},
               {'at': 6, 'namespace': 'a', 'cpu': '4'}]
    res = SIM.events(scenario({'a': {'cpu': '1'}}, runs,
                              config(timeout=100), quota_changes=changes))
    expect_events(res, [
        (3, 'submitted', 'r1'),
        (3, 'blocked', 'r1', {'reason': 'cpu', 'requested': 3000,
                              'available': 2000}),
        (6, 'deployed', 'r1', {'wait_s': 3}), (7, 'finished', 'r1')])


def retention_does_not_change_scheduling():
    """jobRunCleanup with retentionPeriod 0 forgets ended runs at once;
    the event stream is the same as without cleanup."""
    runs = [run('r%d' % i, prio=('high', 'normal')[i % 2], at=i, dur=3,
                cpu='1') for i in range(8)]
    out = []
    for cleanup in (False, True):
        cfg = config(batch=1, timeout=100)
        cfg['services']['jobOrchestrator']['settings']['jobRunCleanup'] = {
            'enabled': cleanup, 'retentionPeriod': 0}
        res = SIM.events(scenario({'a': {'cpu': '2'}}, runs, cfg))
        out.append(res.stdout)
    assert out[0] == out[1], 'cleanup changed the output:\n%s\n---\n%s' % (
        out[0], out[1])


def finish_releases_in_cycle():
    """Runs that finish release their resources before admission in the
    same step."""
    runs = [run('r1', dur=5, cpu='4', memory='1Gi'),
            run('r2', at=1, dur=5, cpu='4', memory='1Gi')]
    res = SIM.events(scenario({'a': {'cpu': '4', 'memory': '1Gi'}}, runs,
                              config(timeout=100)))
    expect_events(res, [
        (0, 'submitted', 'r1'), (0, 'deployed', 'r1'),
        (1, 'submitted', 'r2'),
        (1, 'blocked', 'r2', {'reason': 'cpu', 'requested': 4000,
                              'available': 0}),
        (5, 'finished', 'r1'), (5, 'deployed', 'r2', {'wait_s': 4}),
        (10, 'finished', 'r2')])


def tick_and_off_grid_submit():
    """tick_seconds 2.5; submit_at off the grid: submitted at the first step
    >= submit_at, wait_s = deployment time - submit_at; a run finishes at
    the first step >= deployment + duration (a run deployed by admission
    at the earliest the step after)."""
    runs = [run('r1', at=1, dur=3), run('r2', at=5, dur=0),
            run('L', at=6, dur=1.5, flow='legacy', job='leg'),
            run('r3', at=0.001, dur=0.25)]
    res = SIM.events(scenario({'a': {}}, runs, config(), tick_seconds=2.5))
    expect_events(res, [
        (2.5, 'submitted', 'r3'), (2.5, 'submitted', 'r1'),
        (2.5, 'deployed', 'r3', {'wait_s': 2.499}),
        (2.5, 'deployed', 'r1', {'wait_s': 1.5}),
        (5, 'submitted', 'r2'), (5, 'finished', 'r3'),
        (5, 'deployed', 'r2', {'wait_s': 0}),
        (7.5, 'submitted', 'L'), (7.5, 'deployed', 'L', {'wait_s': 1.5}),
        (7.5, 'finished', 'r1'), (7.5, 'finished', 'r2'),
        (10, 'finished', 'L')])


def tick_fraction():
    """tick_seconds 0.5 with head timeout 1 s: exact half-second times."""
    runs = [run('hog', dur=0.7, cpu='1'), run('r', at=0.2, dur=1, cpu='1')]
    res = SIM.events(scenario({'a': {'cpu': '1'}}, runs,
                              config(timeout=1, retries=1),
                              tick_seconds=0.5))
    # r: submitted 0.5, blocked 0.5; hog finishes at 1 (0 + 0.7 <= 1),
    # so r deploys at 1 with wait 0.8.
    expect_events(res, [
        (0, 'submitted', 'hog'), (0, 'deployed', 'hog'),
        (0.5, 'submitted', 'r'),
        (0.5, 'blocked', 'r', {'reason': 'cpu', 'requested': 1000,
                               'available': 0}),
        (1, 'finished', 'hog'), (1, 'deployed', 'r', {'wait_s': 0.8}),
        (2, 'finished', 'r')])


def event_order_in_step():
    """Within one step: quota changes, then submissions in (submit_at,
    input) order with legacy deployments right after their submission,
    then the cycle: finishes, head timeouts, admission."""
    runs = [run('w', prio='high', dur=10, cpu='4'),
            run('big', dur=1, cpu='8'),
            run('n2', prio='high', at=10, dur=5, cpu='2'),
            run('L', at=9.5, dur=3, cpu='1', flow='legacy', job='leg')]
    res = SIM.events(scenario({'a': {'cpu': '4'}}, runs,
                              config(timeout=10, retries=1)))
    expect_events(res, [
        (0, 'submitted', 'w'), (0, 'submitted', 'big'),
        (0, 'deployed', 'w'),
        (0, 'blocked', 'big', {'reason': 'cpu', 'requested': 8000,
                               'available': 0}),
        (10, 'submitted', 'L'), (10, 'deployed', 'L', {'flow': 'legacy'}),
        (10, 'submitted', 'n2'),
        (10, 'finished', 'w'),
        (10, 'head_timeout_retry', 'big', {'retry': 1}),
        (10, 'deployed', 'n2', {'wait_s': 0}),
        (13, 'finished', 'L'), (15, 'finished', 'n2'),
        (20, 'cancelled', 'big', {'reason': 'head_timeout'})])


def submit_order_ties():
    """Submissions with the same submit_at go in input order; an earlier
    submit_at later in the input goes first; FIFO follows submission."""
    runs = [run('r1', at=3, dur=1), run('r2', at=1, dur=1),
            run('r3', at=3, dur=1), run('r4', at=1, dur=1)]
    res = SIM.events(scenario({'a': {'pods': 1}}, [
        dict(r, pods=1) for r in runs], config(timeout=100)))
    sub = [(e['t'], e['run']) for e in res.of('submitted')]
    assert sub == [(1, 'r2'), (1, 'r4'), (3, 'r1'), (3, 'r3')], sub
    dep = [(e['t'], e['run']) for e in res.of('deployed')]
    assert dep == [(1, 'r2'), (2, 'r4'), (3, 'r1'), (4, 'r3')], dep


# ------------------------------------------------------- summary, output

def summary_shape():
    """The last line is {"summary": {...}} with per-priority counts that
    match the events and wait p50/p95/max."""
    runs = [run('h%d' % i, prio='high', dur=1) for i in range(20)]
    runs += [run('n0', dur=1, cpu='9'), run('n1', dur=1)]
    res = SIM.events(scenario({'a': {'cpu': '4'}}, runs,
                              config(batch=1, share=100, timeout=2,
                                     retries=1)))
    s = res.summary
    assert isinstance(s, dict), s
    for p in ('high', 'normal'):
        assert p in s, 'summary lacks %r: %r' % (p, s)
        counts = {}
        for e in res.events:
            if e['priority'] == p:
                counts[e['event']] = counts.get(e['event'], 0) + 1
        for ev in ('submitted', 'deployed', 'finished', 'cancelled'):
            assert s[p].get(ev) == counts.get(ev, 0), \
                'summary %s.%s = %r, events %r' % (p, ev, s[p].get(ev),
                                                   counts.get(ev, 0))
    # high waits are 0..19 (batch 1): nearest-rank or interpolated
    w = s['high']['wait_s']
    assert ms(w['max']) == 19000, w
    assert 9000 <= ms(w['p50']) <= 10000, w
    assert 18000 <= ms(w['p95']) <= 19000, w
    # normal: n0 cancelled (never deployed); n1 waits for h0..h19 and
    # the blocked n0 (2 + 2 s): deployed at 20 at the earliest.
    assert s['normal']['cancelled'] == 1 and s['normal']['deployed'] == 1, s
    wn = s['normal']['wait_s']
    assert wn['p50'] == wn['p95'] == wn['max'], wn
    assert s['high']['submitted'] == 20 and s['high']['finished'] == 20


def every_line_has_fields():
    """Every event line carries t, event, run, job, namespace, priority
    and the per-event fields of SPEC section 4."""
    runs = [run('a', dur=1, cpu='9', domain='finance'),
            run('b', dur=1), run('c', dur=1, flow='legacy', job='leg')]
    res = SIM.events(scenario({'a': {'cpu': '4'}}, runs,
                              config(timeout=1, retries=1),
                              stale_quota=[{'run': 'b', 'times': 1}]))
    need = {'blocked': ('reason', 'requested', 'available'),
            'deployed': ('wait_s', 'flow'), 'rescheduled': ('reason',),
            'head_timeout_retry': ('retry',),
            'cancelled': ('reason', 'detail')}
    seen = set()
    for e in res.events:
        seen.add(e['event'])
        for k in need.get(e['event'], ()):
            assert k in e, '%s lacks %s: %r' % (e['event'], k, e)
        assert e['job'] == {'a': 'job-a', 'b': 'job-b', 'c': 'leg'}[e['run']]
    assert seen == {'submitted', 'blocked', 'deployed', 'rescheduled',
                    'head_timeout_retry', 'cancelled', 'finished'}, seen


def names_escaped():
    """Names with quotes, backslashes and non-ASCII characters come out as
    valid JSON strings equal to the input. (Control characters are refused
    at the boundary since issue 8, and namespaces are DNS labels: see
    names_are_validated.)"""
    ns = 'ns-q-9'
    rid = 'r"1 \u00e9'
    job = 'j\\ob "\u00e9" \u2028'
    runs = [dict(run(rid, ns=ns, dur=1, job=job), domain='d\u2028x')]
    res = SIM.events(scenario({ns: {}}, runs))
    assert len(res.events) == 3, res.stdout
    for e in res.events:
        assert (e['run'], e['namespace'], e['job'], e.get('domain')) == \
            (rid, ns, job, 'd\u2028x'), e


def names_are_validated():
    """A control character in a name, or a namespace that is not a DNS
    label, is refused with the field and the offending byte named."""
    cases = [({'a': {}}, dict(run('r1', ns='a', dur=1), job='j\u0001b'),
              'job name: byte 1 (0x01) is a control character'),
             ({'a': {}}, dict(run('r1\x1b[2J', ns='a', dur=1), job='j'),
              'run name: byte 2 (0x1b) is a control character'),
             ({'Ab': {}}, run('r1', ns='Ab', dur=1),
              "namespace: byte 0 ('A', 0x41) is not allowed"),
             ({'a-': {}}, run('r1', ns='a-', dur=1),
              "namespace: byte 1 ('-', 0x2d) is not allowed here")]
    for nss, r, want in cases:
        res = SIM.run(scenario(nss, [r]))
        assert res.rc != 0, res.stdout
        assert want in res.stderr, (want, res.stderr)
        assert '"event"' not in res.stdout, res.stdout


def job_names_shared():
    """The same job name in two namespaces, with both flows, and a job
    literally named like an internal variant ("j~2"): every event shows the
    scenario's job name, runs keep their own priority and flow."""
    runs = [run('r1', ns='a', prio='high', dur=1, job='j'),
            run('r2', ns='b', prio='normal', dur=2, job='j'),
            run('r3', ns='a', prio='normal', dur=3, job='j~2'),
            run('r4', ns='a', prio='normal', dur=4, job='j', flow='legacy'),
            run('r5', ns='a', prio='normal', dur=5, job='j')]
    res = SIM.events(scenario({'a': {}, 'b': {}}, runs))
    want = {'r1': ('j', 'high', 'a', 'priority'),
            'r2': ('j', 'normal', 'b', 'priority'),
            'r3': ('j~2', 'normal', 'a', 'priority'),
            'r4': ('j', 'normal', 'a', 'legacy'),
            'r5': ('j', 'normal', 'a', 'priority')}
    for e in res.events:
        w = want[e['run']]
        assert (e['job'], e['priority'], e['namespace']) == w[:3], e
        if e['event'] == 'deployed':
            assert e['flow'] == w[3], e
    assert len(res.of('finished')) == 5, res.stdout


def determinism():
    """Same input, same output, byte for byte (a busy scenario)."""
    runs = []
    for i in range(60):
        runs.append(run('r%d' % i, ns='ab'[i % 2],
                        prio=('high', 'normal')[i % 3 == 0], at=i % 17,
                        dur=3 + i % 7, cpu='%dm' % (500 + 250 * (i % 5)),
                        memory='%dMi' % (256 * (1 + i % 4)),
                        flow='legacy' if i % 11 == 0 else None))
    sc = scenario({'a': {'cpu': '3', 'memory': '2Gi'},
                   'b': {'cpu': '2', 'pods': 4}}, runs,
                  config(share=33, batch=3, timeout=7, retries=1),
                  quota_changes=[{'at': 9, 'namespace': 'a', 'cpu': '2'}],
                  stale_quota=[{'run': 'r4', 'times': 2}])
    a = SIM.run(sc)
    b = SIM.run(sc)
    a.parse()
    assert a.stdout == b.stdout and a.rc == b.rc == 0, 'outputs differ'
    assert len(a.events) > 100


# ------------------------------------- bugs found by these tests (fixed)
#
# The tests below first failed against jobq-sim; each found a real bug,
# since fixed. They stay as regression tests.

def stale_quota_head_timeout_consistent():
    """Found a bug. A head that fits but keeps being refused on stale quota
    must be treated the same whether or not it was found blocked (on a
    resource) before. Today a head that was once blocked keeps its old
    blocked state and timer through the stale rejections and is cancelled
    with head_timeout, its detail claiming "available 0" cpu while 4 cpus
    are free (scenario A); the same head never found blocked is
    rescheduled until the cluster accepts it (scenario B). SPEC 2.2 times
    out a head "blocked since blocked_since"; SPEC 2.4 says it is blocked
    when it does not fit -- from t=5 it fits."""
    runs = [run('hog', dur=5, cpu='4'), run('r', dur=1, cpu='1')]
    a = SIM.events(scenario({'a': {'cpu': '4'}}, runs, config(timeout=8),
                            stale_quota=[{'run': 'r', 'times': 10}]))
    b = SIM.events(scenario({'a': {'cpu': '4'}}, runs[1:],
                            config(timeout=8),
                            stale_quota=[{'run': 'r', 'times': 10}]))
    a_end = [(e['t'], e['event']) for e in a.events
             if e['run'] == 'r' and e['event'] in ('cancelled', 'deployed')]
    b_end = [(e['t'], e['event']) for e in b.events
             if e['run'] == 'r' and e['event'] in ('cancelled', 'deployed')]
    # Either reading is consistent: stale rejections do not count as
    # blocked time (A deployed at 15 after rejections at 5..14, B at 10
    # after rejections at 0..9), or they do (both cancelled at 8).
    consistent = (a_end == [(15, 'deployed')] and
                  b_end == [(10, 'deployed')]) or \
        (a_end == [(8, 'cancelled')] and b_end == [(8, 'cancelled')])
    assert consistent, (
        'A (blocked on cpu until t=5, then refused on stale quota 10 '
        'times): %r; B (refused 10 times from t=0): %r. Expected A deployed '
        'at 15 and B at 10 (stale rejections are not blocked time), or '
        'both cancelled at 8.\nA output:\n%s' % (a_end, b_end, a.stdout))


def blocked_available_huge_usage():
    """Found a bug. Live usage (legacy runs, no resource check) of 8Ei
    storage in a 1Ei namespace: the simulator's used sum overflowed int64
    and blocked reported available -2**63 ("-unlimited" in the cancel
    detail). The mock cluster now sums exactly and reports used clamped to
    the probe's int64 range, so available is 1Ei - (2**63 - 1): one more
    than the exact 1Ei - 8Ei, which an int64 probe cannot express."""
    runs = [run('L1', dur=5, storage='4Ei', flow='legacy', job='leg'),
            run('L2', dur=5, storage='4Ei', flow='legacy', job='leg'),
            run('p', dur=1, storage='1')]
    res = SIM.events(scenario({'a': {'storage': '1Ei'}}, runs,
                              config(timeout=1)))
    b = res.of('blocked', 'p')
    assert len(b) == 1 and b[0]['reason'] == 'storage', res.stdout
    assert b[0]['available'] == 2**60 - (2**63 - 1), \
        'available %r, expected 1Ei - INT64_MAX = %d' % (
            b[0]['available'], 2**60 - (2**63 - 1))
    d = res.of('cancelled', 'p')[0]['detail']
    assert 'unlimited' not in d, d


def main():
    global SIM
    SIM = Sim(main_args())
    tap = Tap()
    for share in (0, 50, 90, 100, 33, 1, 99):
        tap.check('WRR: share %d%% gives nginx smooth WRR, share%% per '
                  'window of %d' % (share, 100 // gcd(share, 100)),
                  wrr_ratio, share)
    tests = [
        ('WRR: only deployments charge the state',
         wrr_only_deployments_charge),
        ('work conserving: share 0, only high runs', work_conserving_share0),
        ('work conserving: share 100, only normal runs',
         work_conserving_share100),
        ('work conserving: high head blocked, normal takes every slot',
         work_conserving_blocked_high),
        ('head-of-line blocking in a queue', head_of_line_blocking),
        ('head-of-line blocking is per queue', head_of_line_other_queue),
    ]
    for short in (['cpu'], ['memory'], ['pods'], ['storage'],
                  ['memory', 'storage'], ['pods', 'storage'],
                  ['cpu', 'storage'], ['memory', 'pods'],
                  list(RESOURCES)):
        tests.append(('block reason: short on %s' % '+'.join(short),
                      block_reason(short)))
    tests += [
        ('blocked not repeated while the reason stays; new on change',
         blocked_not_repeated_and_reason_change),
        ('blocked after a quota cut below used', blocked_negative_available),
        ('head timeout, 0 retries, next head timer', head_timeout_no_retry),
        ('head timeout: next head timer starts when found blocked',
         head_timeout_next_head_timer),
        ('head timeout, 3 retries at exact times', head_timeout_retries),
        ('head timeout retry, then fits', head_timeout_retry_then_fits),
        ('head timeout with tick_seconds 3', head_timeout_tick3),
        ('namespace isolation', namespace_isolation),
        ('batch cap and round-robin turn across cycles',
         batch_cap_round_robin),
        ('batch cap: namespace with nothing eligible is skipped',
         batch_cap_skips_idle_namespace),
        ('legacy bypass', legacy_bypass),
        ('legacy runs are not counted in batchSize',
         legacy_many_in_one_step),
        ('system-wide disable makes every run legacy',
         disabled_system_wide),
        ('stale quota', stale_quota),
        ('stale quota: the slot goes to the next namespace',
         stale_quota_other_namespace),
        ('stale quota backoff: 1, 2, 4 ... 32, then 60 s',
         stale_quota_backoff_sequence),
        ('stale quota backoff: other queues and namespaces go on',
         stale_quota_backoff_others_go_on),
        ('stale quota: timer from the first refusal, not reset',
         stale_quota_timer_from_first_refusal),
        ('stale quota: timer kept from an earlier block',
         stale_quota_timer_kept_from_block),
        ('stale quota: head timeout retry keeps the backoff, then cancel',
         stale_quota_head_timeout_retry_then_cancel),
        ('stale quota: a new head starts a new streak (timeout)',
         stale_quota_success_ends_streak),
        ('stale quota: a successful deployment ends the streak',
         stale_quota_success_ends_streak_long_timeout),
        ('stale quota: asynchronous refusals count and back off',
         stale_quota_async_counts),
        ('stale quota: asynchronous refusals and the head timeout',
         stale_quota_async_times_out),
        ('quota changes at exact times', quota_changes),
        ('quota change of one dimension', quota_change_other_dimension),
        ('quota changes: by time, ties in input order',
         quota_changes_ties),
        ('retention does not change scheduling',
         retention_does_not_change_scheduling),
        ('finished runs release resources within the cycle',
         finish_releases_in_cycle),
        ('tick 2.5 and submit_at off the grid', tick_and_off_grid_submit),
        ('tick 0.5', tick_fraction),
        ('event order within a step', event_order_in_step),
        ('submission order: submit_at then input order', submit_order_ties),
        ('summary line shape and counts', summary_shape),
        ('event lines carry the SPEC fields', every_line_has_fields),
        ('names are escaped as JSON', names_escaped),
        ('names are validated at the boundary', names_are_validated),
        ('job names shared across namespaces and flows', job_names_shared),
        ('determinism', determinism),
        ('stale-quota rejections and the head timeout are consistent',
         stale_quota_head_timeout_consistent),
        ('live usage past int64 is clamped, never wrapped',
         blocked_available_huge_usage),
    ]
    for name, fn in tests:
        tap.check(name, fn)
    SIM.cleanup(tap.failed)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
