"""A real process that leaks on command and probes itself, one step per line on stdin.

`python probed_leaker.py dicts N` adds N small dicts to a list per step; `native N` mallocs and
touches N bytes per step through libc, where no Python object sees them. After each step it
answers one JSON line: the probe's summary with t_sim_s = step * 60 (a simulated minute a step).
"""

import ctypes
import json
import sys

from leakhunt.sampling.probe import Probe


def main() -> None:
    kind, per_step = sys.argv[1], int(sys.argv[2])
    probe = Probe()
    kept: list = []
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    for step, _ in enumerate(sys.stdin):
        if kind == "dicts":
            kept.extend({"timestamp": step, "value": 1.5} for _ in range(per_step))
        else:
            address = libc.malloc(per_step)
            ctypes.memset(address, 1, per_step)  # touched, so it is resident
        summary = probe.take(t_sim_s=step * 60.0, t_wall_s=0.0)
        sys.stdout.write(json.dumps(summary) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
