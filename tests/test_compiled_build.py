import os
from pathlib import Path

from tests.compiled_build import MODULE_LIST, ROOT, listed_modules, stale_extensions


def _tree(tmp_path: Path, listed: list[str]) -> Path:
    module_list = tmp_path / "mypyc-modules.txt"
    module_list.write_text("# a comment\n\n" + "\n".join(listed) + "\n", encoding="utf-8")
    (tmp_path / "pdu").mkdir()
    (tmp_path / "dispatcher" / "smpp").mkdir(parents=True)
    return module_list


def _write(path: Path, mtime: float) -> None:
    path.write_text("", encoding="utf-8")
    os.utime(path, (mtime, mtime))


def test_an_extension_newer_than_its_listed_source_is_fresh(tmp_path: Path) -> None:
    module_list = _tree(tmp_path, ["pdu/codec.py", "dispatcher/smpp/window.py"])
    _write(tmp_path / "pdu" / "codec.py", 1_000)
    _write(tmp_path / "pdu" / "codec.cpython-311-x86_64-linux-gnu.so", 2_000)
    _write(tmp_path / "dispatcher" / "smpp" / "window.py", 1_000)
    _write(tmp_path / "dispatcher" / "smpp" / "window.cpython-311-x86_64-linux-gnu.so", 1_000)
    assert stale_extensions(tmp_path, module_list) == []


def test_an_extension_older_than_its_source_is_stale(tmp_path: Path) -> None:
    module_list = _tree(tmp_path, ["dispatcher/smpp/window.py"])
    _write(tmp_path / "dispatcher" / "smpp" / "window.py", 2_000)
    _write(tmp_path / "dispatcher" / "smpp" / "window.cpython-311-x86_64-linux-gnu.so", 1_000)
    assert stale_extensions(tmp_path, module_list) == [
        "dispatcher/smpp/window.cpython-311-x86_64-linux-gnu.so is older than "
        "dispatcher/smpp/window.py"
    ]


def test_an_extension_of_a_module_no_longer_listed_is_stale(tmp_path: Path) -> None:
    module_list = _tree(tmp_path, ["pdu/codec.py"])
    _write(tmp_path / "pdu" / "text.py", 1_000)
    _write(tmp_path / "pdu" / "text.cpython-311-x86_64-linux-gnu.so", 2_000)
    assert stale_extensions(tmp_path, module_list) == [
        "pdu/text.cpython-311-x86_64-linux-gnu.so: pdu/text.py is not compiled any more"
    ]


def test_every_listed_module_exists_and_this_tree_is_fresh() -> None:
    listed = listed_modules(MODULE_LIST)
    assert "pdu/codec.py" in listed
    assert [path for path in sorted(listed) if not (ROOT / path).is_file()] == []
    assert stale_extensions(ROOT, MODULE_LIST) == []
