"""Compiles the modules every message passes through with mypyc at install time (the list:
mypyc-modules.txt); pyproject.toml holds the rest of the packaging. The package is
mypy --strict, so the compiled modules are the same source, type-checked, run as C.

SMPP_PURE_PYTHON=1 in the environment of `pip install` (or `make`) installs pure Python
instead: no C compiler needed, same behaviour, slower.

What pays (benchmarks/RESULTS.md):
- the wire codec (pdu/codec.py, pdu/framer.py): loops over octets become C integer arithmetic
  ("Codec");
- the rest of a message's way through the daemon and the simulator: segmentation,
  validation, the SMPP engine, the sender, the inbound handler and its receipt reader
  (pdu/receipt_frame.py), the batch writer, the metrics' fast children, the simulator's
  session and receipts. Their cost was the interpreter's own: attribute reads, calls and
  small tuples per message. Compiled, the daemon went from 72-76 to 51-53 µs of CPU per
  message and the simulator from 27-28 to 20-21 (paired runs of benchmarks.daemon_bench,
  100,000 messages; "Daemon").

What stays interpreted, and why:
- pdu/text.py and pdu/submit_sm.py: the public encode API. Called with keywords from
  interpreted code, a compiled function binds them slower than the interpreter does: the codec
  benchmark's UCS-2 encode line went from 2.51 to 2.89 µs compiled.
- pdu/receipt.py: it fills a receipt in a draft and then changes the draft's __class__ to
  Receipt (same layout, half the cost of a frozen dataclass's __init__); a compiled class
  cannot do that.
- pdu's PDU dataclasses: mypyc turns a dataclass ClassVar into a field (mypyc/mypyc#1122),
  which breaks `command_id`.
- The daemon's runner and its outbox statements (claims, results, receipts), dispatcher.metrics
  and the simulator's server: compiled as well, they saved 1-2 µs per message, and with them
  tests/daemon/test_resilience_two_daemons.py crashed in one run of four (a type object
  overwritten: a reference-count fault in compiled code, not narrowed down further; eight runs
  without them passed). Compiled, the simulator's server also failed a run-time type check
  (`getsockname()[:2]` unpacked as a tuple).
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup

MODULE_LIST = Path(__file__).with_name("mypyc-modules.txt")


def compiled_modules() -> list[str]:
    lines = MODULE_LIST.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _extensions() -> list[object]:
    if os.environ.get("SMPP_PURE_PYTHON", "") not in ("", "0"):
        return []
    from mypyc.build import mypycify

    return list(mypycify(compiled_modules(), opt_level="3", group_name="smpp_dispatcher"))


setup(ext_modules=_extensions())
