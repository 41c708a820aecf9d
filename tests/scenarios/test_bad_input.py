#!/usr/bin/python3
"""Bad-input tests of jobq-sim's scenario parser (SPEC section 4: "Bad
input: a clear error on standard error naming the offending field, non-zero
exit, no partial output claimed as valid").

Each case: non-zero exit, nothing at all on standard output, and a message
on standard error that contains every listed fragment (the field's path and,
where useful, the offending value).

  test_bad_input.py PATH/TO/jobq-sim
"""
import copy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simlib import Sim, Tap, main_args, P_SHARE, P_TIMEOUT, P_RETRY  # noqa

BASE = {
    'namespaces': {'analytics': {'cpu': '4', 'memory': '8Gi', 'pods': 10,
                                 'storage': '1Ti'}},
    'runs': [
        {'id': 'r1', 'job': 'nightly', 'namespace': 'analytics',
         'priority': 'high', 'flow': 'priority', 'submit_at': 0,
         'duration': 60, 'cpu': '1', 'memory': '1Gi', 'pods': 1,
         'storage': '0'},
        {'id': 'r7', 'job': 'adhoc', 'namespace': 'analytics',
         'duration': 30},
    ],
}


def mutate(fn):
    sc = copy.deepcopy(BASE)
    fn(sc)
    return json.dumps(sc)


def set_run(field, value, index=1):
    def fn(sc):
        sc['runs'][index][field] = value
    return fn


def del_run(field, index=1):
    def fn(sc):
        del sc['runs'][index][field]
    return fn


def set_top(field, value):
    def fn(sc):
        sc[field] = value
    return fn


def set_config(path, value):
    def fn(sc):
        cfg = sc.setdefault('config', {})
        node = cfg
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return fn


def set_ns(field, value):
    def fn(sc):
        sc['namespaces']['analytics'][field] = value
    return fn


def quota_change(change):
    def fn(sc):
        sc['quota_changes'] = [change]
    return fn


def stale(entry):
    def fn(sc):
        sc['stale_quota'] = [entry]
    return fn


SP = ['systemProperties']
SETTINGS = ['services', 'jobOrchestrator', 'settings']

# (name, scenario text, fragments the error message must contain)
CASES = [
    # not JSON / wrong shape
    ('not JSON at all', 'this is not json', ['scenario']),
    ('empty file', '', []),
    ('truncated JSON', mutate(lambda sc: None)[:-7], []),
    # A file that is not exactly one JSON document is bad input (SPEC
    # section 4): trailing data used to be ignored.
    ('JSON followed by garbage',
     mutate(lambda sc: None) + ' and some trailing text', []),
    ('two JSON documents', mutate(lambda sc: None) + '\n{}', []),
    ('top level is an array', '[]', []),
    ('top level is a string', '"scenario"', []),
    ('top level is null', 'null', []),
    ('namespaces is an array', mutate(set_top('namespaces', [])),
     ['namespaces']),
    ('runs is an object', mutate(set_top('runs', {})), ['runs']),
    ('a run is a string', mutate(lambda sc: sc['runs'].append('r9')),
     ['runs']),
    ('namespace quota is a number', mutate(
        lambda sc: sc['namespaces'].update(x=5)), ['namespaces', 'x']),
    ('quota_changes is an object', mutate(set_top('quota_changes', {})),
     ['quota_changes']),
    ('stale_quota is a string', mutate(set_top('stale_quota', 'r1')),
     ['stale_quota']),
    # unknown fields
    ('unknown top-level field', mutate(set_top('tick', 1)), ['tick']),
    ('unknown run field', mutate(set_run('cpus', '1')),
     ['runs[r7]', 'cpus']),
    ('unknown namespace field', mutate(set_ns('gpu', 1)),
     ['analytics', 'gpu']),
    ('unknown quota change field', mutate(quota_change(
        {'at': 1, 'namespace': 'analytics', 'cpus': '2'})),
     ['quota_changes[0]', 'cpus']),
    ('unknown stale_quota field', mutate(stale(
        {'run': 'r1', 'times': 1, 'count': 2})),
     ['stale_quota[0]', 'count']),
    ('unknown config key', mutate(set_config(['bogus'], 1)),
     ['config', 'bogus']),
    ('unknown system property', mutate(set_config(
        SP + ['job-orchestrator.queue.low.scheduling-share-percentage'],
        10)), ['config', 'job-orchestrator.queue.low']),
    # missing required fields
    ('missing namespaces', mutate(lambda sc: sc.pop('namespaces')),
     ['namespaces']),
    ('missing runs', mutate(lambda sc: sc.pop('runs')), ['runs']),
    ('run without id', mutate(del_run('id')), ['runs[1]', 'id']),
    ('run without job', mutate(del_run('job')), ['runs[r7]', 'job']),
    ('run without namespace', mutate(del_run('namespace')),
     ['runs[r7]', 'namespace']),
    ('run without duration', mutate(del_run('duration')),
     ['runs[r7]', 'duration']),
    ('quota change without at', mutate(quota_change(
        {'namespace': 'analytics', 'cpu': '2'})), ['quota_changes[0]', 'at']),
    ('quota change without namespace', mutate(quota_change(
        {'at': 5, 'cpu': '2'})), ['quota_changes[0]', 'namespace']),
    ('stale_quota without times', mutate(stale({'run': 'r1'})),
     ['stale_quota[0]', 'times']),
    ('stale_quota without run', mutate(stale({'times': 1})),
     ['stale_quota[0]', 'run']),
    ('stale_quota async not a boolean', mutate(stale(
        {'run': 'r1', 'times': 1, 'async': 'yes'})),
     ['stale_quota[0].async', 'true or false']),
    # references
    ('run in an undeclared namespace', mutate(set_run('namespace', 'prod')),
     ['runs[r7].namespace', 'prod']),
    ('quota change of an undeclared namespace', mutate(quota_change(
        {'at': 5, 'namespace': 'prod', 'cpu': '2'})),
     ['quota_changes[0].namespace', 'prod']),
    ('stale_quota of an unknown run', mutate(stale({'run': 'r99',
                                                    'times': 1})),
     ['stale_quota[0].run', 'r99']),
    ('duplicate run id', mutate(set_run('id', 'r1')), ['r1', 'duplicate']),
    # types of scalar fields
    ('run id is a number', mutate(set_run('id', 7)), ['runs[1]', 'id']),
    ('run id is empty', mutate(set_run('id', '')), ['runs[1]', 'id']),
    ('job is empty', mutate(set_run('job', '')), ['runs[r7]', 'job']),
    ('duration is a string', mutate(set_run('duration', '30')),
     ['runs[r7].duration']),
    ('submit_at is null', mutate(set_run('submit_at', None)),
     ['runs[r7].submit_at']),
    # quantities
    ('Spark-style 512m memory', mutate(set_run('memory', '512m')),
     ['runs[r7].memory', '512m']),
    ('Spark-style 512m storage', mutate(set_run('storage', '512m')),
     ['runs[r7].storage', '512m']),
    ('fractional bytes', mutate(set_run('memory', '1.5')),
     ['runs[r7].memory', '1.5']),
    ('fractional pods', mutate(set_run('pods', 1.5)),
     ['runs[r7].pods', '1.5']),
    ('garbage quantity', mutate(set_run('cpu', 'lots')),
     ['runs[r7].cpu', 'lots']),
    ('unknown suffix', mutate(set_run('memory', '2Zi')),
     ['runs[r7].memory', '2Zi']),
    ('empty quantity', mutate(set_run('cpu', '')), ['runs[r7].cpu']),
    ('quantity is a boolean', mutate(set_run('pods', True)),
     ['runs[r7].pods']),
    ('negative cpu', mutate(set_run('cpu', '-1')), ['runs[r7].cpu', '-1']),
    ('negative memory number', mutate(set_run('memory', -5)),
     ['runs[r7].memory', '-5']),
    ('negative pods', mutate(set_run('pods', -1)), ['runs[r7].pods']),
    ('negative storage', mutate(set_run('storage', '-1Gi')),
     ['runs[r7].storage', '-1Gi']),
    ('negative duration', mutate(set_run('duration', -1)),
     ['runs[r7].duration']),
    ('negative submit_at', mutate(set_run('submit_at', -5)),
     ['runs[r7].submit_at']),
    ('negative namespace quota', mutate(set_ns('cpu', '-4')),
     ['namespaces.analytics.cpu', '-4']),
    ('Spark-style namespace memory', mutate(set_ns('memory', '512m')),
     ['namespaces.analytics.memory', '512m']),
    ('negative quota change', mutate(quota_change(
        {'at': 5, 'namespace': 'analytics', 'memory': '-1Gi'})),
     ['quota_changes[0].memory']),
    ('negative quota change time', mutate(quota_change(
        {'at': -1, 'namespace': 'analytics', 'cpu': '1'})),
     ['quota_changes[0].at']),
    ('negative stale_quota times', mutate(stale({'run': 'r1',
                                                 'times': -1})),
     ['stale_quota[0].times']),
    ('fractional stale_quota times', mutate(stale({'run': 'r1',
                                                   'times': 1.5})),
     ['stale_quota[0].times']),
    ('quantity overflow', mutate(set_run('storage', '100Ei')),
     ['runs[r7].storage']),
    # priority / flow
    ('bad priority', mutate(set_run('priority', 'urgent')),
     ['runs[r7].priority', 'urgent']),
    ('priority in capitals', mutate(set_run('priority', 'HIGH')),
     ['runs[r7].priority', 'HIGH']),
    ('priority is a number', mutate(set_run('priority', 1)),
     ['runs[r7].priority']),
    ('bad flow', mutate(set_run('flow', 'fast')),
     ['runs[r7].flow', 'fast']),
    # tick_seconds
    ('tick_seconds 0', mutate(set_top('tick_seconds', 0)),
     ['tick_seconds']),
    ('negative tick_seconds', mutate(set_top('tick_seconds', -1)),
     ['tick_seconds']),
    ('tick_seconds is a string', mutate(set_top('tick_seconds', '1')),
     ['tick_seconds']),
    ('tick_seconds is null', mutate(set_top('tick_seconds', None)),
     ['tick_seconds']),
    # config
    ('config is an array', mutate(set_top('config', [])), ['config']),
    ('share above 100', mutate(set_config(SP + [P_SHARE], 101)),
     [P_SHARE, '101']),
    ('negative share', mutate(set_config(SP + [P_SHARE], -1)),
     [P_SHARE, '-1']),
    ('fractional share', mutate(set_config(SP + [P_SHARE], 50.5)),
     [P_SHARE]),
    ('share is a string', mutate(set_config(SP + [P_SHARE], '50')),
     [P_SHARE]),
    ('head timeout 0', mutate(set_config(SP + [P_TIMEOUT], 0)),
     [P_TIMEOUT]),
    ('negative retry count', mutate(set_config(SP + [P_RETRY], -1)),
     [P_RETRY]),
    ('batchSize 0', mutate(set_config(SETTINGS + ['batchSize'], 0)),
     ['batchSize']),
    ('batchSize is a string', mutate(set_config(SETTINGS + ['batchSize'],
                                                '20')), ['batchSize']),
    ('enabled is a string', mutate(set_config(
        ['features', 'jobOrchestrator', 'enabled'], 'no')),
     ['features', 'enabled']),
    ('unknown settings key', mutate(set_config(SETTINGS + ['batchsize'],
                                               5)), ['batchsize']),
    ('unknown feature key', mutate(set_config(
        ['features', 'jobOrchestrator', 'enable'], True)), ['enable']),
    ('retentionPeriod negative', mutate(set_config(
        SETTINGS + ['jobRunCleanup', 'retentionPeriod'], -1)),
     ['retentionPeriod']),
    ('share as a nested object', mutate(set_config(
        SP + ['job-orchestrator', 'queue'], {'x': 1})),
     ['systemProperties']),
    ('systemProperties is an array', mutate(set_config(SP, [])),
     ['systemProperties']),
]


def check_case(sim, text, fragments):
    res = sim.run_text(text)
    detail = 'exit %d\nstdout: %r\nstderr: %r' % (res.rc, res.stdout[:300],
                                                 res.stderr[:300])
    assert res.rc != 0, 'accepted (exit 0)\n' + detail
    assert res.stdout == '', 'output on stdout\n' + detail
    err = res.stderr.strip()
    assert err, 'no message on stderr\n' + detail
    for frag in fragments:
        assert frag in err, 'message does not contain %r\n%s' % (frag,
                                                                 detail)


def check_valid(sim):
    res = sim.run_text(json.dumps(BASE))
    res.parse()
    assert res.stderr == '', res.stderr


def main():
    sim = Sim(main_args())
    tap = Tap()
    tap.check('the base scenario is valid', check_valid, sim)
    for name, text, fragments in CASES:
        tap.check('bad input: %s' % name, check_case, sim, text, fragments)
    # The example the SPEC and the issue give, word for word.
    tap.check('bad input: runs[r7].memory "512m" message',
              check_case, sim, mutate(set_run('memory', '512m')),
              ['runs[r7].memory: "512m"'])
    tap.check('bad input: missing file', lambda: check_missing(sim))
    sim.cleanup(tap.failed)
    return tap.done()


def check_missing(sim):
    import subprocess
    p = subprocess.run([sim.path, os.path.join(sim.tmpdir, 'nope.json')],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.returncode != 0 and p.stdout == b'' and p.stderr, p


if __name__ == '__main__':
    sys.exit(main())
