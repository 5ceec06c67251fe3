"""A pandas concat in a loop: each batch of ticks is appended to a module-level DataFrame."""

import numpy as np
import pandas as pd
from _service import serve

history = pd.DataFrame({"price": np.zeros(0), "size": np.zeros(0)})


def handle(n: int) -> None:
    global history
    ticks = {"price": np.full(10, n + 0.5), "size": np.full(10, 2.0)}
    batch = pd.DataFrame(ticks, index=np.arange(10) + 10 * n)
    history = pd.concat([history, batch])


if __name__ == "__main__":
    serve(handle, rate_per_s=20, path="__main__.history")
