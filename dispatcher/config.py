"""The daemon's configuration: one TOML file, environment overrides, secrets from files.

Every key is documented in `config/dispatcher.example.toml`. Loading validates everything at
start-up and fails with one line that names the key and the problem, e.g.
``smpp.accounts.ads.binds: at most 4 sessions per account, got 5``.

Secrets (passwords, DSNs) can be given in three more ways than inline:
- ``password_file = "/path"``: the first line of that file;
- ``password_credential = "name"``: the file ``$CREDENTIALS_DIRECTORY/name`` (systemd
  ``LoadCredential=``);
- an environment variable ``SMPP_DISPATCHER__<PATH>`` where PATH is the key's dotted path with
  ``__`` for the dots, e.g. ``SMPP_DISPATCHER__SMPP__ACCOUNTS__ADS__PASSWORD``. Any key can be
  overridden this way; the value is read as a TOML value when it parses as one, else as text.
"""

from __future__ import annotations

import os
import socket
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from dispatcher.callback_auth import CallbackAccess
from dispatcher.fallback.account_readings import DEFAULT_BALANCE_INTERVAL_SECONDS
from dispatcher.fallback.devino_hlr import DEFAULT_VALIDITY_MINUTES as HLR_VALIDITY_MINUTES
from dispatcher.smpp.settings import (  # the provider's rules, each citing its seed line
    BIND_TIMEOUT,
    DEST_NPI,
    DEST_TON,
    ENQUIRE_LINK_IDLE,
    ENQUIRE_LINK_TIMEOUT,
    MAX_BINDS_PER_ACCOUNT,
    MIN_VALIDITY_SECONDS,
    QUEUE_FULL_MAX_ATTEMPTS,
    RECONNECT_DELAY,
    RECONNECT_FAILED_DELAY,
    REGISTERED_DELIVERY,
    RESPONSE_TIMEOUT,
    SOURCE_NPI,
    SOURCE_TON,
    THROTTLE_PAUSE,
    WINDOW,
)

ENV_PREFIX = "SMPP_DISPATCHER__"
SECRET_KEYS = ("password", "dsn", "token", "api_key", "secret")


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Strict):
    dsn: SecretStr
    min_connections: int = Field(2, ge=1)
    max_connections: int = Field(10, ge=2)


class DaemonConfig(_Strict):
    id: str = Field(default_factory=socket.gethostname)
    claim_batch: int = Field(500, ge=1, le=10_000)
    lease_seconds: float = Field(300.0, ge=10)
    poll_interval: float = Field(5.0, gt=0)
    # What to do with a message whose PDU went out but whose answer was never recorded
    # (crash, response timeout): send it again (at-least-once) or mark it `unknown`.
    in_doubt: Literal["resend", "unknown"] = "resend"
    unmatched_receipt_ttl: float = Field(7 * 86400.0, gt=0)
    query_after: float = Field(3600.0, gt=0)  # query_sm a message whose receipt is this late
    query_rate: float = Field(5.0, ge=0)  # query_sm per second per account (0 = never)
    unknown_margin: float = Field(3600.0, ge=0)  # past validity + margin without answer
    drain_timeout: float = Field(30.0, ge=0)
    # how often the provider balance gauge is refreshed (seconds; 0 = never)
    balance_interval: float = Field(DEFAULT_BALANCE_INTERVAL_SECONDS, ge=0)


class LogConfig(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    mask_numbers: bool = False
    mask_bodies: bool = False


class MetricsConfig(_Strict):
    listen: str = "127.0.0.1:9465"
    enabled: bool = True


BindMode = Literal["tx", "rx", "trx"]
IdFormat = Literal["auto", "as_is", "hex", "decimal", "strip_zeros", "casefold"]
StatusActionName = Literal["accept", "throttle", "queue_full", "transient", "permanent"]


class SmppAccountConfig(_Strict):
    system_id: str = Field(min_length=1)
    password: SecretStr
    hosts: list[str] = Field(min_length=1)
    binds: list[BindMode] = Field(default_factory=lambda: list[BindMode](["trx"]))
    window: int = Field(WINDOW, ge=1, le=10_000)
    split: Literal["udh", "udh16", "sar", "payload"] = "udh"
    coding: Literal["auto", "gsm7", "gsm7_packed", "ucs2", "latin1"] = "auto"
    reconnect_delay: float = Field(RECONNECT_DELAY, ge=0)
    reconnect_failed_delay: float = Field(RECONNECT_FAILED_DELAY, ge=0)
    response_timeout: float = Field(RESPONSE_TIMEOUT, gt=0)
    bind_timeout: float = Field(BIND_TIMEOUT, gt=0)
    enquire_link_idle: float = Field(ENQUIRE_LINK_IDLE, gt=0)
    enquire_link_timeout: float = Field(ENQUIRE_LINK_TIMEOUT, gt=0)
    throttle_pause: float = Field(THROTTLE_PAUSE, ge=0)
    queue_full_max_attempts: int = Field(QUEUE_FULL_MAX_ATTEMPTS, ge=1, le=20)
    source_ton: int = Field(SOURCE_TON, ge=0, le=255)
    source_npi: int = Field(SOURCE_NPI, ge=0, le=255)
    numeric_source_ton: int | None = Field(None, ge=0, le=255)
    dest_ton: int = Field(DEST_TON, ge=0, le=255)
    dest_npi: int = Field(DEST_NPI, ge=0, le=255)
    registered_delivery: int = Field(REGISTERED_DELIVERY, ge=0, le=255)
    rate_limit: float | None = Field(None, gt=0)  # messages per second per session
    # How the SMSC writes message ids in submit_sm_resp and in receipts (they may differ):
    # as_is | strip_zeros | casefold | hex | decimal | auto (see pdu.message_id). The default
    # assumes both are written alike, up to leading zeros; "auto" guesses the base per id and
    # can make two different hex ids equal ("00000011" read as decimal 11 == 0x0B), so it is
    # never the default.
    message_id_format: IdFormat = "strip_zeros"
    receipt_id_format: IdFormat | None = None  # None: the same as message_id_format
    max_queue: int = Field(20_000, ge=1)  # messages held by the pool before claims pause
    tls: bool = False
    # command_status (decimal or 0x hex) -> what to do with a message that gets it
    status_policy: dict[str, StatusActionName] = Field(default_factory=dict)

    @field_validator("binds")
    @classmethod
    def _at_most_four(cls, binds: list[BindMode]) -> list[BindMode]:
        if len(binds) > MAX_BINDS_PER_ACCOUNT:
            raise ValueError(
                f"at most {MAX_BINDS_PER_ACCOUNT} sessions per account "
                f"(seed 004 L2922-2923), got {len(binds)}"
            )
        if not binds:
            raise ValueError("at least one bind is needed")
        return binds

    @field_validator("hosts")
    @classmethod
    def _host_port(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            name, sep, port = host.rpartition(":")
            if not sep or not name or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{host!r} is not host:port")
        return hosts

    @field_validator("status_policy")
    @classmethod
    def _status_codes(cls, policy: dict[str, str]) -> dict[str, str]:
        for code in policy:
            try:
                int(code, 0)
            except ValueError:
                raise ValueError(f"{code!r} is not a command_status number") from None
        return policy


class RouteConfig(_Strict):
    smpp: str | None = None  # the SMPP account carrying this route
    source: str | None = None  # the sender when an outbox row has none
    fallback: list[str] = Field(default_factory=list)  # provider names, in order
    failover_after: float = Field(120.0, ge=0)  # seconds without a bound session
    validity: int = Field(86400, ge=MIN_VALIDITY_SECONDS)  # default when a row has none
    max_parts: int = Field(10, ge=1, le=255)
    in_doubt: Literal["resend", "unknown"] | None = None  # overrides daemon.in_doubt
    # providers carrying the route's `viber` and `viber_sms` rows, in order
    viber: list[str] = Field(default_factory=list)
    # reject rows whose destination a stored HLR check (younger than hlr.max_age) found dead
    skip_dead_numbers: bool = False


# provider type -> (required keys, optional keys) besides `type`
_COMMON_PROVIDER_KEYS = frozenset({"base_url", "timeout"})
PROVIDER_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "devino_rest": (frozenset({"login", "password"}), _COMMON_PROVIDER_KEYS),
    "devino_rest_v2": (frozenset({"login", "password"}), _COMMON_PROVIDER_KEYS),
    "devino_soap": (frozenset({"login", "password"}), _COMMON_PROVIDER_KEYS),
    "devino_soap_v2": (frozenset({"login", "password"}), _COMMON_PROVIDER_KEYS),
    "devino_xml": (frozenset({"login", "password"}), _COMMON_PROVIDER_KEYS),
    "mobipace": (frozenset({"username", "password"}), _COMMON_PROVIDER_KEYS),
    "webcom": (frozenset(), _COMMON_PROVIDER_KEYS | {"login", "password", "token"}),
    "devino_viber": (frozenset({"login", "password"}), _COMMON_PROVIDER_KEYS | {"priority"}),
}
# What each provider type can do beyond sending SMS.
SMS_PROVIDER_TYPES = frozenset(PROVIDER_KEYS) - {"devino_viber"}
VIBER_PROVIDER_TYPES = frozenset(
    {"devino_viber", "devino_rest", "devino_rest_v2", "devino_soap", "devino_soap_v2"})
INCOMING_PULL_PROVIDER_TYPES = frozenset(
    {"devino_rest", "devino_rest_v2", "devino_soap", "devino_soap_v2"})
HLR_PROVIDER_TYPES = frozenset({"devino_rest", "devino_rest_v2"})  # seed 004 L9672-9678


class ProviderConfig(BaseModel):
    """A fallback provider: `type` and the keys that type takes (PROVIDER_KEYS)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: Literal["devino_rest", "devino_rest_v2", "devino_soap", "devino_soap_v2",
                  "devino_xml", "mobipace", "webcom", "devino_viber"]

    @model_validator(mode="after")
    def _keys_of_the_type(self) -> ProviderConfig:
        required, optional = PROVIDER_KEYS[self.type]
        given = set(self.model_extra or {})
        for key in sorted(given - required - optional):
            raise ValueError(f"{key}: unknown key for a {self.type} provider")
        for key in sorted(required - given):
            raise ValueError(f"{key}: required key is missing")
        if self.type == "webcom" and "token" not in given and not {"login", "password"} <= given:
            raise ValueError("webcom needs token, or login and password")
        for key, value in (self.model_extra or {}).items():
            if key == "timeout":
                if not isinstance(value, int | float) or value <= 0:
                    raise ValueError("timeout: must be a positive number of seconds")
            elif not isinstance(value, str) or not value:
                raise ValueError(f"{key}: must be a non-empty string")
        return self

    def option(self, key: str) -> str | None:
        value = (self.model_extra or {}).get(key)
        return None if value is None else str(value)

    def __repr_args__(self) -> Any:  # keep passwords and tokens out of reprs
        for key, value in super().__repr_args__():
            hidden = key is not None and any(part in key for part in SECRET_KEYS)
            yield key, "**********" if hidden else value


class SmppConfig(_Strict):
    accounts: dict[str, SmppAccountConfig] = Field(default_factory=dict)


class CallbacksConfig(_Strict):
    """The callback receiver (provider status callbacks, incoming pushes). Off without a
    token; served by the metrics server unless `listen` gives it an address of its own."""

    token: SecretStr | None = None  # the secret path segment (token_file / env in practice)
    listen: str | None = None  # "host:port"; None: the metrics server serves the callbacks
    allowed_sources: list[str] = Field(default_factory=list)  # addresses or CIDR; empty: any
    trusted_proxies: list[str] = Field(default_factory=list)  # peers whose X-Forwarded-For counts

    @model_validator(mode="after")
    def _usable(self) -> CallbacksConfig:
        if self.token is not None:
            try:
                CallbackAccess.from_config(self.token.get_secret_value(),
                                           allowed_sources=self.allowed_sources,
                                           trusted_proxies=self.trusted_proxies)
            except ValueError as problem:
                text = str(problem)
                raise ValueError(text if ": " in text else f"token: {text}") from None
        return self


class IncomingConfig(_Strict):
    poll: list[str] = Field(default_factory=list)  # Devino REST/SOAP providers pulled for MO
    poll_interval: float = Field(default=60.0, gt=0)  # seconds between two pulls


class HlrConfig(_Strict):
    provider: str | None = None  # a devino_rest(_v2) provider; None: the only one configured
    validity_minutes: int = Field(default=HLR_VALIDITY_MINUTES, ge=1)  # seed 004 L9708
    # seconds an HLR result counts for routes.*.skip_dead_numbers
    max_age: float = Field(default=30 * 86400.0, gt=0)


class Config(_Strict):
    database: DatabaseConfig
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)  # type: ignore[arg-type]
    log: LogConfig = Field(default_factory=LogConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    smpp: SmppConfig = Field(default_factory=SmppConfig)
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    routes: dict[str, RouteConfig] = Field(default_factory=dict)
    callbacks: CallbacksConfig = Field(default_factory=CallbacksConfig)
    incoming: IncomingConfig = Field(default_factory=IncomingConfig)
    hlr: HlrConfig = Field(default_factory=HlrConfig)

    def providers_of(self, types: frozenset[str]) -> list[str]:
        """The configured providers of these types, by name."""
        return sorted(name for name, p in self.providers.items() if p.type in types)

    @model_validator(mode="after")
    def _extras_name_what_can_do_it(self) -> Config:
        for name, route in self.routes.items():
            for provider in route.viber:
                self._need(f"routes.{name}.viber", provider, VIBER_PROVIDER_TYPES, "Viber")
            for provider in route.fallback:
                if provider in self.providers and (
                        self.providers[provider].type not in SMS_PROVIDER_TYPES):
                    raise ValueError(f"routes.{name}.fallback: provider {provider!r} does not "
                                     "send SMS (name it under viber)")
        for provider in self.incoming.poll:
            self._need("incoming.poll", provider, INCOMING_PULL_PROVIDER_TYPES,
                       "incoming-SMS pull")
        if self.hlr.provider is not None:
            self._need("hlr.provider", self.hlr.provider, HLR_PROVIDER_TYPES, "HLR")
        if self.callbacks.token is not None and self.callbacks.listen is None and (
                not self.metrics.enabled):
            raise ValueError("callbacks.listen: needed when metrics.enabled is false")
        return self

    def _need(self, key: str, provider: str, types: frozenset[str], what: str) -> None:
        if provider not in self.providers:
            raise ValueError(f"{key}: no provider named {provider!r}")
        if self.providers[provider].type not in types:
            raise ValueError(f"{key}: provider {provider!r} ({self.providers[provider].type}) "
                             f"has no {what} API (types: {', '.join(sorted(types))})")

    @model_validator(mode="after")
    def _routes_name_what_exists(self) -> Config:
        if not self.routes:
            raise ValueError("routes: at least one route is needed (e.g. [routes.default])")
        for name, route in self.routes.items():
            if route.smpp is not None and route.smpp not in self.smpp.accounts:
                raise ValueError(
                    f"routes.{name}.smpp: no SMPP account named {route.smpp!r} "
                    f"(have: {', '.join(sorted(self.smpp.accounts)) or 'none'})"
                )
            for provider in route.fallback:
                if provider not in self.providers:
                    raise ValueError(
                        f"routes.{name}.fallback: no provider named {provider!r}"
                    )
            if route.smpp is None and not route.fallback and not route.viber:
                raise ValueError(
                    f"routes.{name}: names neither an SMPP account nor a fallback nor viber")
        return self


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read, merge overrides and secrets, validate. Raises ConfigError naming the key."""
    environ = os.environ if environ is None else environ
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    _apply_environment(raw, environ)
    _resolve_secret_files(raw, environ, path="")
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc)) from None


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        keys = [part.lower() for part in name[len(ENV_PREFIX):].split("__") if part]
        if not keys:
            continue
        table = raw
        for key in keys[:-1]:
            child = table.setdefault(key, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{name}: {'.'.join(keys)} does not name a table path")
            table = child
        table[keys[-1]] = _parse_env_value(value)


def _parse_env_value(value: str) -> Any:
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def _resolve_secret_files(table: dict[str, Any], environ: Mapping[str, str], path: str) -> None:
    for key in list(table):
        value = table[key]
        dotted = f"{path}{key}"
        if isinstance(value, dict):
            _resolve_secret_files(value, environ, dotted + ".")
        elif key.endswith("_file") and isinstance(value, str):
            target = key.removesuffix("_file")
            table[target] = _read_secret(Path(value), dotted)
            del table[key]
        elif key.endswith("_credential") and isinstance(value, str):
            target = key.removesuffix("_credential")
            directory = environ.get("CREDENTIALS_DIRECTORY")
            if not directory:
                raise ConfigError(
                    f"{dotted}: CREDENTIALS_DIRECTORY is not set (systemd LoadCredential=)"
                )
            table[target] = _read_secret(Path(directory) / value, dotted)
            del table[key]


def _read_secret(path: Path, key: str) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read {path}: {exc.strerror}") from None
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise ConfigError(f"{key}: {path} is empty")
    return lines[0]


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    location = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required key is missing"
    if not location:  # a model-level check names its key in the message itself
        return message
    key, sep, rest = message.partition(": ")
    if sep and key.isidentifier():  # a table-level check naming one of its keys
        return f"{location}.{key}: {rest}"
    return f"{location}: {message}"
