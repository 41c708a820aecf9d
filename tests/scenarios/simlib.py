"""Shared helpers for the black-box jobq-sim tests: run the simulator on a
scenario, parse its output (SPEC section 4), and report as TAP.

Python 3 standard library only; run with /usr/bin/python3.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

RESOURCES = ('cpu', 'memory', 'pods', 'storage')
TERMINAL = ('finished', 'failed', 'cancelled')
EVENT_NAMES = ('submitted', 'blocked', 'deployed', 'rescheduled',
               'head_timeout_retry', 'cancelled', 'finished', 'failed')
P_SHARE = 'job-orchestrator.queue.high.scheduling-share-percentage'
P_TIMEOUT = 'job-orchestrator.queue.head-timeout-seconds'
P_RETRY = 'job-orchestrator.queue.head-retry-count'

GI = 2 ** 30
MI = 2 ** 20


def ms(seconds):
    """A JSON number of seconds as integer milliseconds."""
    return int(round(float(seconds) * 1000))


class Result:
    def __init__(self, rc, stdout, stderr, scenario_text):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.scenario_text = scenario_text
        self.events = []
        self.summary = None
        # One JSON object per line, lines end at '\n' only (str.splitlines
        # would also split at U+2028 and other characters that may appear
        # raw inside JSON strings).
        self.lines = stdout.split('\n')
        if self.lines and self.lines[-1] == '':
            self.lines.pop()

    def parse(self):
        """Parse the event stream; raise AssertionError on a malformed one."""
        assert self.rc == 0, 'jobq-sim exited %d: %s' % (self.rc,
                                                         self.stderr.strip())
        assert self.lines, 'no output'
        assert self.stdout.endswith('\n'), 'the last line is not terminated'
        for n, line in enumerate(self.lines):
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise AssertionError('line %d is not JSON (%s): %r'
                                     % (n + 1, e, line))
            assert isinstance(obj, dict), 'line %d is not an object' % (n + 1)
            if n == len(self.lines) - 1:
                assert list(obj) == ['summary'], \
                    'last line is not {"summary": ...}: %r' % line
                self.summary = obj['summary']
                break
            assert 'summary' not in obj, 'summary before the last line'
            for key in ('t', 'event', 'run', 'job', 'namespace', 'priority'):
                assert key in obj, 'line %d lacks %r: %r' % (n + 1, key, line)
            assert obj['event'] in EVENT_NAMES, 'unknown event %r' % line
            obj['t_ms'] = ms(obj['t'])
            if 'wait_s' in obj:
                obj['wait_ms'] = ms(obj['wait_s'])
            self.events.append(obj)
        return self

    def of(self, event=None, run=None):
        return [e for e in self.events
                if (event is None or e['event'] == event) and
                (run is None or e['run'] == run)]

    def brief(self):
        """(t, event, run) triples, t in seconds as printed."""
        return [(e['t'], e['event'], e['run']) for e in self.events]


class Sim:
    def __init__(self, path):
        self.path = path
        self.tmpdir = tempfile.mkdtemp(prefix='jobq-simtest-')
        self.count = 0

    def cleanup(self, keep):
        """Remove the scenario files, or say where they are."""
        if keep:
            print('# scenario files kept in %s' % self.tmpdir)
        else:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def run_text(self, text, keep_name=None):
        self.count += 1
        name = keep_name or 'scenario-%d.json' % self.count
        path = os.path.join(self.tmpdir, name)
        with open(path, 'w') as f:
            f.write(text)
        p = subprocess.run([self.path, path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        if os.environ.get('JOBQ_SIM_COMPARE_DB') and p.returncode == 0:
            self.same_with_db(path, p.stdout)
        res = Result(p.returncode, p.stdout.decode('utf-8', 'replace'),
                     p.stderr.decode('utf-8', 'replace'), text)
        res.file = path
        return res

    def same_with_db(self, path, stdout):
        """JOBQ_SIM_COMPARE_DB=1: every scenario also runs with --db in
        each durability mode, and its output must be byte-identical (SPEC
        section 4 and issue 11: persistence changes nothing visible)."""
        for mode in ('full', 'normal'):
            db = os.path.join(self.tmpdir, 'compare-%d-%s.db' % (self.count,
                                                                 mode))
            p = subprocess.run([self.path, '--db', db, '--durability', mode,
                                path], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=120)
            assert p.returncode == 0, '--db --durability %s exited %d: %s' % (
                mode, p.returncode, p.stderr.decode('utf-8', 'replace'))
            assert p.stdout == stdout, (
                'output differs with --db --durability %s (scenario %s)'
                % (mode, path))

    def run(self, scenario, **kw):
        return self.run_text(json.dumps(scenario, indent=1), **kw)

    def events(self, scenario):
        return self.run(scenario).parse()


def scenario(namespaces, runs, config=None, **extra):
    sc = {'namespaces': namespaces, 'runs': runs}
    if config is not None:
        sc['config'] = config
    sc.update(extra)
    return sc


def props(share=None, timeout=None, retries=None):
    sp = {}
    if share is not None:
        sp[P_SHARE] = share
    if timeout is not None:
        sp[P_TIMEOUT] = timeout
    if retries is not None:
        sp[P_RETRY] = retries
    return sp


def config(share=None, timeout=None, retries=None, batch=None, enabled=None):
    cfg = {}
    sp = props(share, timeout, retries)
    if sp:
        cfg['systemProperties'] = sp
    if batch is not None:
        cfg['services'] = {'jobOrchestrator': {'settings': {
            'batchSize': batch}}}
    if enabled is not None:
        cfg['features'] = {'jobOrchestrator': {'enabled': enabled}}
    return cfg


def run(rid, ns='a', prio='normal', at=0, dur=10, job=None, flow=None,
        **res):
    r = {'id': rid, 'job': job or ('job-' + rid), 'namespace': ns,
         'priority': prio, 'submit_at': at, 'duration': dur}
    if flow:
        r['flow'] = flow
    r.update(res)
    return r


class Tap:
    """Minimal TAP producer: one 'ok N - name' / 'not ok N - name' per
    check, diagnostics as '#' lines, the plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, name, fn, *args):
        self.n += 1
        try:
            fn(*args)
        except Exception as e:  # report, keep going
            self.failed += 1
            print('not ok %d - %s' % (self.n, name))
            text = e.args[0] if isinstance(e, AssertionError) and e.args \
                else traceback.format_exc()
            for line in str(text).splitlines():
                print('# ' + line)
        else:
            print('ok %d - %s' % (self.n, name))
        sys.stdout.flush()

    def done(self):
        print('1..%d' % self.n)
        # TAP carries the verdict (meson reports "not ok" as FAIL); a
        # non-zero exit would turn it into ERROR.
        return 0


def expect_events(res, expected, keys=None):
    """Assert the event stream equals `expected`: a list of tuples
    (t_seconds, event, run) or (t_seconds, event, run, {field: value})."""
    got = []
    for e in res.events:
        got.append((e['t_ms'], e['event'], e['run']))
    want = [(ms(x[0]), x[1], x[2]) for x in expected]
    if got != want:
        raise AssertionError(
            'event stream differs (scenario %s)\nwant:\n  %s\ngot:\n  %s\n'
            'output:\n%s' % (res.file, '\n  '.join(map(repr, want)),
                             '\n  '.join(map(repr, got)), res.stdout))
    for x, e in zip(expected, res.events):
        if len(x) > 3:
            for k, v in x[3].items():
                gk = e.get(k)
                if k in ('wait_s',):
                    ok = gk is not None and ms(gk) == ms(v)
                else:
                    ok = gk == v
                if not ok:
                    raise AssertionError(
                        'event %r: %s is %r, expected %r\nline: %r\n'
                        'scenario: %s' % (x[:3], k, gk, v, e, res.file))


def main_args():
    if len(sys.argv) < 2:
        sys.stderr.write('usage: %s PATH/TO/jobq-sim\n' % sys.argv[0])
        sys.exit(2)
    return sys.argv[1]
