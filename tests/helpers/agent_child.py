"""A service run under the agent: grows a list of dicts by N per line on stdin, says "grown"."""

import sys

kept: list[dict] = []
per_step = int(sys.argv[1])
print("ready", flush=True)
for _ in sys.stdin:
    kept.extend({"timestamp": len(kept), "value": 2.5} for _ in range(per_step))
    print("grown", flush=True)
