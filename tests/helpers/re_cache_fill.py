"""A service that matches each request against a regular expression of its own: `re`'s cache.

Every request builds a distinct pattern (a 150-way alternation, about 6 kB compiled) and calls
re.match, which compiles it into `re._cache`. The cache holds 512 patterns (re._MAXCACHE) and then
drops its oldest for each new one: RSS rises while it fills (about 3 MB in FILL_S seconds) and
stays level after. A compile is about 1 ms of CPU, so the whole fill is half a second of it: on
a host loaded ten times over the fill still ends within seconds of FILL_S (400-way patterns took
3 ms each, and a starved service was still filling when a 60 s watch ended). Prints "ready",
then serves until killed.
"""

import re

from paced import serve_at_rate

FILL_S = 20.0
WORDS = "|".join(f"item{k:04d}" for k in range(150))


def handle(n: int) -> None:
    re.match(f"(?:{WORDS})-{n}", "item0001-3")


def main() -> None:
    print("ready", flush=True)
    rate_per_s = re._MAXCACHE / FILL_S
    serve_at_rate(handle, rate_per_s, step_s=1 / rate_per_s)


if __name__ == "__main__":
    main()
