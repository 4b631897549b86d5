"""Compiles the wire codec (pdu/codec.py, pdu/framer.py) with mypyc at install time;
pyproject.toml holds the rest of the packaging. The package is mypy --strict, so the compiled
modules are the same source, type-checked, run as C.

SMPP_PURE_PYTHON=1 in the environment of `pip install` (or `make`) installs pure Python
instead: no C compiler needed, same behaviour, a slower codec.

Only those two modules pay (benchmarks/RESULTS.md, "Codec"): their loops over octets become
C integer arithmetic. The rest of pdu is left interpreted because compiling it made it slower:
its cost is building and reading the objects the interpreted daemon uses (PDUs, Receipt,
EncodedText), and a mypyc class is slower to build with keywords and to read from interpreted
code than a slotted dataclass (mypyc also turns a dataclass ClassVar into a field,
mypyc/mypyc#1122, which breaks `command_id`).
"""

from __future__ import annotations

import os

from setuptools import setup

COMPILED_MODULES = ["pdu/codec.py", "pdu/framer.py"]


def _extensions() -> list[object]:
    if os.environ.get("SMPP_PURE_PYTHON", "") not in ("", "0"):
        return []
    from mypyc.build import mypycify

    return list(mypycify(COMPILED_MODULES, opt_level="3", group_name="pdu"))


setup(ext_modules=_extensions())
