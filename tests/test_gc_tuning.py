"""`tune_garbage_collection` (called at the start of `run` and `smsc-sim`), in a process of its
own: changing the collector of the test process would change every other test."""

from __future__ import annotations

import json
import subprocess
import sys

from dispatcher.gc_tuning import GC_THRESHOLDS

_PROBE = """
import gc, json
objects_before = len(gc.get_objects())
from dispatcher.gc_tuning import tune_garbage_collection
tune_garbage_collection()
print(json.dumps({"thresholds": gc.get_threshold(), "frozen": gc.get_freeze_count(),
                  "before": objects_before, "tracked": len(gc.get_objects())}))
"""


def test_start_up_objects_are_frozen_and_collections_are_rarer() -> None:
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                            check=True, timeout=60)
    state = json.loads(result.stdout)
    assert tuple(state["thresholds"]) == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] > 700  # CPython's default, which cost the daemon 10 % of its CPU
    # what start-up made is out of the collector's way; only what came after is tracked
    assert state["frozen"] >= state["before"]
    assert state["tracked"] < 100
