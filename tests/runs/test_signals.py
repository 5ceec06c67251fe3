"""SIGTERM acts as Ctrl-C inside `sigterm_as_ctrl_c()`, and only there."""

import os
import signal

import pytest

from leakhunt.runs.signals import sigterm_as_ctrl_c


def test_sigterm_inside_the_block_is_a_keyboard_interrupt_and_the_old_handler_comes_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), sigterm_as_ctrl_c():
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs before the next statement
        raise AssertionError("SIGTERM did not interrupt")
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_block_that_ends_normally_gives_the_old_handler_back_too():
    before = signal.getsignal(signal.SIGTERM)
    with sigterm_as_ctrl_c():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
