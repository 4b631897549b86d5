"""Whether the compiled modules in the source tree match their sources.

An editable install puts mypyc's extension modules beside their sources, and Python imports an
extension module in preference to the .py of the same name: after an edit without a rebuild,
the tests would run the old code. `make` rebuilds on its own; this catches `pytest` run
directly, and a module dropped from mypyc-modules.txt whose extension was left behind.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE_LIST = ROOT / "mypyc-modules.txt"


def listed_modules(module_list: Path) -> set[str]:
    lines = module_list.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def stale_extensions(root: Path, module_list: Path) -> list[str]:
    """The extension modules under `root`'s packages that are older than their source or whose
    source is not in `module_list` (any more), as messages."""
    listed = listed_modules(module_list)
    stale = []
    for package in ("pdu", "dispatcher"):
        for extension in sorted((root / package).rglob("*.so")):
            source = extension.with_name(extension.name.split(".", 1)[0] + ".py")
            relative = source.relative_to(root).as_posix()
            if relative not in listed:
                stale.append(f"{extension.relative_to(root)}: {relative} is not compiled any more")
            elif source.exists() and source.stat().st_mtime > extension.stat().st_mtime:
                stale.append(f"{extension.relative_to(root)} is older than {relative}")
    return stale
