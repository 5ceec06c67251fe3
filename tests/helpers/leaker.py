"""A process that grows at a known rate on its own clock: `leaker.py BYTES_PER_S [SECONDS]`.

It keeps bytearrays (touched, so resident) and paces itself with sleep: a steady leak in real
time is the thing under test here. It prints "ready" once started.
"""

import sys
import time

rate_bytes_per_s = float(sys.argv[1])
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3600.0
step_s = 0.05
kept = []
print("ready", flush=True)
started = time.monotonic()
k = 0
while time.monotonic() - started < seconds:
    k += 1
    kept.append(bytearray(b"x" * int(rate_bytes_per_s * step_s)))
    # Pacing on its own clock is the point of this helper: a leak at a known rate in real time.
    time.sleep(max(0.0, started + k * step_s - time.monotonic()))  # the pace under test, not a wait
