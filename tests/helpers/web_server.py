"""An idle web server (the standard library's) on a free port of 127.0.0.1; prints "ready PORT"."""

import http.server
import os
import sys
import threading


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # thousands of requests under load: a log line each would be the test's output


os.chdir(sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), QuietHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(f"ready {server.server_address[1]}", flush=True)
sys.stdin.read()
server.shutdown()
