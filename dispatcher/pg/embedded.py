"""A throw-away PostgreSQL server in a temporary directory (tests and `make demo`).

It uses the PostgreSQL server binaries of the machine (Debian: `apt-get install postgresql`);
nothing is downloaded. `initdb` and `postgres` refuse to run as root, so under root both run
as the `postgres` user (subprocess's user/group switch, the same as `runuser -u postgres --`
without a wrapper process between us and the postmaster), with the temporary directory handed
over to that user.

The server listens on 127.0.0.1 only, on a free port chosen at the first start and kept across
`restart()` so a `dsn` handed out earlier stays valid. Authentication is `trust`: the server is
reachable from this machine only and lives as long as the test session or demo.

The API is synchronous (the first start-up blocks for about a second, mostly `initdb`; later
servers in the same process copy that first cluster instead); async code that must not block
its loop while restarting the server calls it through `asyncio.to_thread`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

INSTALL_HINT = "apt-get install postgresql"
# Debian and Ubuntu install each major version's server binaries under <root>/<version>/bin
DEBIAN_PG_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
# enough for several daemons in one test: each holds a pool, a LISTEN connection and up to
# four advisory-lock connections per account
DEFAULT_MAX_CONNECTIONS = 300
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0
_READY_POLL_SECONDS = 0.01
# Settings that trade safety against a machine crash for speed; only used when durable=False.
# synchronous_commit stays on: with it off, a kill of the server itself loses the last commits
# (the WAL still in shared memory), and tests kill the server on purpose.
_NON_DURABLE_SETTINGS = {
    "fsync": "off",
    "full_page_writes": "off",
}


class PostgresNotInstalled(RuntimeError):
    """The PostgreSQL server binaries are not on this machine."""


class EmbeddedPostgresError(RuntimeError):
    """The server could not be initialised, started or stopped (the message quotes its log)."""


def find_pg_bin() -> Path:
    """The directory holding `initdb` and `postgres`.

    Order: the PG_BIN environment variable, the newest /usr/lib/postgresql/<version>/bin
    (Debian and Ubuntu), then the directory of an `initdb` found on PATH.
    """
    override = os.environ.get("PG_BIN")
    if override:
        candidate = Path(override)
        if _has_server_binaries(candidate):
            return candidate
        raise PostgresNotInstalled(
            f"PG_BIN={override} holds no initdb and postgres; unset it or install the server: "
            f"{INSTALL_HINT}"
        )
    versions = sorted(
        (p for p in DEBIAN_PG_ROOT.glob("*/bin") if _has_server_binaries(p)),
        key=lambda p: _version_key(p.parent.name),
        reverse=True,
    )
    if versions:
        return versions[0]
    on_path = shutil.which("initdb")
    if on_path and _has_server_binaries(Path(on_path).parent):
        return Path(on_path).parent
    raise PostgresNotInstalled(
        f"PostgreSQL server binaries (initdb, postgres) not found; install them: {INSTALL_HINT}"
    )


def _has_server_binaries(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in ("initdb", "postgres"))


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


# A freshly initialised cluster per binaries directory, kept for the life of the process:
# every further server copies it (a tenth of a second) instead of running initdb (a second).
_pristine_clusters: dict[Path, Path] = {}


def _forget_pristine_clusters() -> None:
    for copy in _pristine_clusters.values():
        shutil.rmtree(copy.parent, ignore_errors=True)
    _pristine_clusters.clear()


atexit.register(_forget_pristine_clusters)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class EmbeddedPostgres:
    """One PostgreSQL server in its own temporary directory.

    `durable=False` (the default) turns fsync and full-page writes off: fast, and a `kill()`
    of the server still loses nothing committed (the operating system keeps the files); only
    a crash of the machine could.
    """

    def __init__(
        self,
        *,
        durable: bool = False,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        settings: Mapping[str, str] | None = None,
        pg_bin: Path | None = None,
    ) -> None:
        self.durable = durable
        self.max_connections = max_connections
        self.extra_settings = dict(settings or {})
        self.pg_bin = pg_bin or find_pg_bin()
        self.port: int | None = None
        self._root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._run_as: pwd.struct_passwd | None = (
            pwd.getpwnam(SUPERUSER) if os.geteuid() == 0 else None
        )
        self._atexit_registered = False

    # -- paths -----------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        if self._root is None:
            raise EmbeddedPostgresError("the server has not been started")
        return self._root

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def dsn(self) -> str:
        """A DSN for the superuser and the `postgres` database."""
        return self.dsn_for("postgres")

    def dsn_for(self, database: str) -> str:
        if self.port is None:
            raise EmbeddedPostgresError("the server has not been started")
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> EmbeddedPostgres:
        """Initialise the cluster on the first call, then start the server and wait until
        it accepts connections."""
        if self.running:
            return self
        if self._root is None:
            self._create_root()
            self._initdb()
        if self.port is None:
            self.port = _free_port()
        self._launch()
        if not self._atexit_registered:
            atexit.register(self.cleanup)
            self._atexit_registered = True
        return self

    def stop(self) -> None:
        """A fast shutdown (sessions are disconnected, nothing committed is lost)."""
        self._signal_and_wait(signal.SIGINT)

    def restart(self) -> None:
        """Stop and start again on the same port and data directory."""
        self.stop()
        self.start()

    def kill(self) -> None:
        """kill -9 of the server and all its processes, as in a crash. `start()` then runs
        crash recovery from the WAL."""
        process = self._process
        if process is None:
            return
        # the postmaster leads its own process group (start_new_session), so the group
        # signal reaches every backend as well
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self._process = None

    def cleanup(self) -> None:
        """Stop the server if it runs and delete the temporary directory."""
        try:
            if self.running:
                self.stop()
        finally:
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)
                self._root = None
                self.port = None

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cleanup()

    # -- internals -------------------------------------------------------------------------

    def _create_root(self) -> None:
        root = Path(tempfile.mkdtemp(prefix="smpp-dispatcher-pg-"))
        (root / "socket").mkdir()
        if self._run_as is not None:
            for path in (root, root / "socket"):
                os.chown(path, self._run_as.pw_uid, self._run_as.pw_gid)
        self._root = root

    def _initdb(self) -> None:
        pristine = _pristine_clusters.get(self.pg_bin)
        if pristine is not None and pristine.exists():
            shutil.copytree(pristine, self.data_dir, symlinks=True)
            self._give_to_server_user(self.data_dir)
            return
        self._run_initdb()
        keep = Path(tempfile.mkdtemp(prefix="smpp-dispatcher-pg-pristine-")) / "data"
        shutil.copytree(self.data_dir, keep, symlinks=True)
        _pristine_clusters[self.pg_bin] = keep

    def _give_to_server_user(self, tree: Path) -> None:
        if self._run_as is None:
            return
        uid, gid = self._run_as.pw_uid, self._run_as.pw_gid
        os.chown(tree, uid, gid)
        for directory, subdirectories, files in os.walk(tree):
            for name in (*subdirectories, *files):
                os.chown(os.path.join(directory, name), uid, gid, follow_symlinks=False)

    def _run_initdb(self) -> None:
        command = [
            str(self.pg_bin / "initdb"),
            "--pgdata", str(self.data_dir),
            "--username", SUPERUSER,
            "--auth", "trust",
            "--encoding", "UTF8",
            "--locale", "C",
            "--no-sync",
            "--no-instructions",
        ]
        result = subprocess.run(command, capture_output=True, **self._user_kwargs())
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")
            raise EmbeddedPostgresError(f"initdb failed (exit {result.returncode}):\n{output}")

    def _settings(self) -> dict[str, str]:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "max_connections": str(self.max_connections),
            "logging_collector": "off",
        }
        if not self.durable:
            settings.update(_NON_DURABLE_SETTINGS)
        settings.update(self.extra_settings)
        return settings

    def _launch(self) -> None:
        command = [str(self.pg_bin / "postgres"), "-D", str(self.data_dir)]
        for name, value in self._settings().items():
            command += ["-c", f"{name}={value}"]
        with open(self.log_file, "ab") as log:
            if self._run_as is not None:
                os.chown(self.log_file, self._run_as.pw_uid, self._run_as.pw_gid)
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **self._user_kwargs(),
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        """Ready once postmaster.pid names our process and says `ready` (PostgreSQL 10+
        writes the postmaster status on its eighth line)."""
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        pid_file = self.data_dir / "postmaster.pid"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise EmbeddedPostgresError(f"postgres exited at start-up:\n{self._log_tail()}")
            try:
                lines = pid_file.read_text().splitlines()
            except FileNotFoundError:
                lines = []
            if (
                len(lines) >= 8
                and lines[0].strip() == str(self._process.pid)
                and lines[7].strip() == "ready"
            ):
                return
            time.sleep(_READY_POLL_SECONDS)
        self.kill()
        raise EmbeddedPostgresError(
            f"postgres not ready after {START_TIMEOUT_SECONDS:.0f} s:\n{self._log_tail()}"
        )

    def _signal_and_wait(self, first_signal: signal.Signals) -> None:
        process = self._process
        if process is None:
            return
        try:
            process.send_signal(first_signal)
            process.wait(STOP_TIMEOUT_SECONDS)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill()
            return
        self._process = None

    def _user_kwargs(self) -> dict[str, Any]:
        if self._run_as is None:
            return {}
        return {
            "user": self._run_as.pw_uid,
            "group": self._run_as.pw_gid,
            "extra_groups": [],
            "env": {**os.environ, "HOME": self._run_as.pw_dir, "USER": SUPERUSER},
            "cwd": str(self.root),
        }

    def _log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
