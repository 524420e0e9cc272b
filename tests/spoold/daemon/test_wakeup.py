"""The daemon's wake-up hint survives signals arriving at any moment.

A ``threading.Event`` set from a signal handler deadlocks when the signal lands
while the main thread holds the Event's lock (inside ``wait``/``clear``): the
daemon then hangs on SIGTERM. The test hammers the hint with signals in a child
process and fails if the child does not finish.
"""

import subprocess
import sys
import textwrap

from spoold.wakeup import Wakeup

CHILD = textwrap.dedent(
    """
    import signal, sys
    from {module} import {name} as Hint
    hint = Hint()
    received = 0
    def handler(signum, frame):
        global received
        received += 1
        hint.set()
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.0001, 0.0001)
    for _ in range(200_000):
        hint.wait(0)
        hint.clear()
    signal.setitimer(signal.ITIMER_REAL, 0, 0)
    print(received)
    """
)


def test_wakeup_set_from_signal_handlers_never_deadlocks():
    code = CHILD.format(module="spoold.wakeup", name="Wakeup")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 100  # signals really arrived during the loop


def test_wait_returns_on_set_and_times_out_otherwise():
    hint = Wakeup()
    assert hint.wait(0.01) is False
    hint.set()
    hint.set()
    assert hint.is_set()
    assert hint.wait(5) is True
    hint.clear()
    assert not hint.is_set()
    hint.close()


def test_many_sets_never_block():
    hint = Wakeup()
    for _ in range(200_000):  # far more than a pipe holds
        hint.set()
    assert hint.wait(0)
    hint.clear()
    assert not hint.is_set()
    hint.close()
