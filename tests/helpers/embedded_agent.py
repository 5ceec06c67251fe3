"""A service that starts the agent itself: `import leakhunt.agent; leakhunt.agent.start(PATH)`.

It keeps a module-level list it grows by N dicts per line on stdin, answering "grown".
"""

import sys

import leakhunt.agent

SEEN_REQUESTS: list[dict] = []

agent = leakhunt.agent.start(sys.argv[1])
per_step = int(sys.argv[2])
print("ready", flush=True)
for _ in sys.stdin:
    SEEN_REQUESTS.extend({"path": "/", "status": 200} for _ in range(per_step))
    print("grown", flush=True)
