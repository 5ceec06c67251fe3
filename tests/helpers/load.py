"""Load on a web server: GET the URL in a loop until stdin closes; prints "ready" after the first answer."""

import sys
import threading
import urllib.request

url = sys.argv[1]
stop = threading.Event()


def hammer() -> None:
    while not stop.is_set():
        with urllib.request.urlopen(url, timeout=5) as response:
            response.read()


urllib.request.urlopen(url, timeout=5).read()
print("ready", flush=True)
for _ in range(4):
    threading.Thread(target=hammer, daemon=True).start()
sys.stdin.read()  # the test closes stdin to stop the load
stop.set()
