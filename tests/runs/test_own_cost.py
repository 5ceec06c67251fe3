"""own_cost.py: what a run cost leakhunt's own process is every thread's CPU since sampling
started, per second of the run and per sample; with no time or no samples there is no rate.
(That the report's imports taken beside the run are left out: test_warm.py.)"""

import threading
import time

from leakhunt.runs.own_cost import OwnCpu


def burn_cpu_s(seconds: float) -> None:
    end_s = time.thread_time() + seconds
    while time.thread_time() < end_s:
        pass


def test_every_threads_cpu_since_the_start_is_counted_per_second_and_per_sample():
    burn_cpu_s(0.05)  # before the start: not the run's
    own = OwnCpu()
    worker = threading.Thread(target=burn_cpu_s, args=(0.1,))  # a sampler's thread, say
    worker.start()
    worker.join()
    burn_cpu_s(0.05)
    cost = own.cost(wall_s=2.0, samples=4)
    cpu_s = cost["leakhunt_cpu_s"]
    assert 0.15 <= cpu_s < 0.5  # both threads' 0.15 s, not the 0.05 s before it started
    assert cost == {"leakhunt_cpu_s": cpu_s, "leakhunt_core_fraction": cpu_s / 2.0,
                    "leakhunt_cpu_s_per_sample": cpu_s / 4}  # fmt: skip


def test_a_run_without_time_or_samples_has_no_rate_of_its_own():
    cost = OwnCpu().cost(wall_s=0.0, samples=0)
    assert 0.0 <= cost["leakhunt_cpu_s"] < 0.5
    assert (cost["leakhunt_core_fraction"], cost["leakhunt_cpu_s_per_sample"]) == (None, None)
