"""Fault injection for the reliability tests: ``SEG_FAULT=NAME`` kills the process with SIGKILL at
the point called NAME, the worst moment for a write to be cut short (everything written, nothing
committed); ``SEG_FAULT=NAME:stop`` stops it there (SIGSTOP), for a test to send it a signal of its
choice at that very point. Unset, a point costs one comparison."""

from __future__ import annotations

import os
import signal

_FAULT = os.environ.get("SEG_FAULT")


def point(name: str) -> None:
    if name == _FAULT:
        os.kill(os.getpid(), signal.SIGKILL)
    elif _FAULT is not None and name + ":stop" == _FAULT:
        os.kill(os.getpid(), signal.SIGSTOP)
