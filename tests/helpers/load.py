"""Load on a web server: GET the URL in a loop until stdin closes.

Prints "ready" once WARM_REQUESTS have been answered: a server's threads and allocator settle
under load first, and the steady state is what a watch is meant to judge.
"""

import sys
import threading
import urllib.request

url = sys.argv[1]
stop = threading.Event()
WARM_REQUESTS = 3000
answered = threading.Semaphore(0)


def hammer() -> None:
    while not stop.is_set():
        with urllib.request.urlopen(url, timeout=5) as response:
            response.read()
        answered.release()


for _ in range(4):
    threading.Thread(target=hammer, daemon=True).start()
for _ in range(WARM_REQUESTS):
    answered.acquire()
print("ready", flush=True)
sys.stdin.read()  # the test closes stdin to stop the load
stop.set()
