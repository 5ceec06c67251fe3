"""A memoising decorator filling up: every new user id is rendered once and kept forever."""

import functools

from _service import serve


def memoize(function):
    cache = {}

    @functools.wraps(function)
    def wrapper(*args):
        if args not in cache:
            cache[args] = function(*args)
        return cache[args]

    return wrapper


@memoize
def render_profile(user_id: int) -> bytes:
    return b"<html>" + bytes(1400) + str(user_id).encode()


def handle(n: int) -> None:
    render_profile(10_000_000 + n)


if __name__ == "__main__":
    serve(handle, rate_per_s=40, path="__main__.render_profile.<closure>.cache")
