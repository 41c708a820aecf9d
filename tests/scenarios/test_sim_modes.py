#!/usr/bin/python3
"""jobq-sim's output does not depend on how it persists (SPEC section 4,
issue 11): the example scenarios and a generated one of the benchmark's kind
(bench/gen_scenario.py: bursts of arrivals at the same instant, many runs
finishing per step) give byte-identical output in memory, with --db and
--durability full, and with --durability normal; and --durability's bad
uses are refused.

  test_sim_modes.py PATH/TO/jobq-sim SOURCE_ROOT
"""
import glob
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simlib import Tap  # noqa

SIM = sys.argv[1]
ROOT = sys.argv[2]


def sim(*args):
    return subprocess.run([SIM] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=240)


def same_in_every_mode(tmp, scenario):
    plain = sim(scenario)
    assert plain.returncode == 0, plain.stderr.decode()
    assert plain.stdout.endswith(b'}}\n'), 'no summary line'
    for mode in (None, 'full', 'normal'):
        db = os.path.join(tmp, '%s-%s.db' % (os.path.basename(scenario),
                                             mode or 'default'))
        args = ['--db', db] + (['--durability', mode] if mode else [])
        p = sim(*(args + [scenario]))
        assert p.returncode == 0, p.stderr.decode()
        assert p.stdout == plain.stdout, (
            'output of %s differs with %s' % (scenario, ' '.join(args)))


def refused(args, fragment, status=2):
    p = sim(*args)
    assert p.returncode == status, 'exit %d for %r' % (p.returncode, args)
    assert p.stdout == b'', 'output on stdout for %r' % (args,)
    assert fragment in p.stderr.decode(), p.stderr.decode()


def cycles_in_text(scenario):
    p = sim('--text', scenario)
    assert p.returncode == 0
    assert b'scheduling cycles' in p.stderr, p.stderr.decode()


def main():
    tap = Tap()
    with tempfile.TemporaryDirectory(prefix='jobq-simmodes-') as tmp:
        generated = os.path.join(tmp, 'burst.json')
        with open(generated, 'w') as f:
            subprocess.run(['/usr/bin/python3',
                            os.path.join(ROOT, 'bench', 'gen_scenario.py'),
                            '--runs', '3000', '--seed', '5'], stdout=f,
                           check=True)
        scenarios = sorted(glob.glob(os.path.join(ROOT, 'examples',
                                                  'scenarios', '*.json')))
        assert scenarios, 'no example scenarios found'
        for sc in scenarios + [generated]:
            tap.check('same output in memory, --db full and normal: %s'
                      % os.path.basename(sc), same_in_every_mode, tmp, sc)
        db = os.path.join(tmp, 'refused.db')
        tap.check('--durability other than full|normal is refused', refused,
                  ['--db', db, '--durability', 'fast', generated],
                  '--durability fast')
        tap.check('--durability without --db is refused', refused,
                  ['--durability', 'normal', generated], 'needs --db')
        tap.check('--durability without a value is refused', refused,
                  ['--db', db, '--durability'], 'full or normal')
        tap.check('--text counts the scheduling cycles', cycles_in_text,
                  generated)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
