"""The settings of one provider account: credentials, hosts, binds and the provider's rules.

Every default that comes from the provider document is a named constant citing its seed line
(seed = /work/shared/seeds/004_80a28bca441860d4.txt, chapter 3 "Протокол SMPP"). The other
defaults are our own choices, said so beside them.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from dispatcher.smpp.status_policy import StatusAction, validate_overrides

# seed 004_80a28bca441860d4.txt L2895: "Port: 2775" (given once, for every host).
DEFAULT_PORT: Final = 2775
# seed 004_80a28bca441860d4.txt L2922-2923: "количество сессий до 4-х" (per account).
MAX_BINDS_PER_ACCOUNT: Final = 4
# seed 004_80a28bca441860d4.txt L2900: Interface_Version 0x34 (SMPP 3.4).
INTERFACE_VERSION: Final = 0x34
# seed 004_80a28bca441860d4.txt L2901: System_Type "NULL (Пустое значение)": empty string.
SYSTEM_TYPE: Final = ""
# seed 004_80a28bca441860d4.txt L2902-2905: Src_Addr_TON 0x05, Src_Addr_NPI 0x01,
# Dest_Addr_TON 0x01, Dest_Addr_NPI 0x01.
SOURCE_TON: Final = 0x05
SOURCE_NPI: Final = 0x01
DEST_TON: Final = 0x01
DEST_NPI: Final = 0x01
# seed 004_80a28bca441860d4.txt L2928-2929: after a session drops, wait at least 60 s before
# the next TCP connect + bind.
RECONNECT_DELAY: Final = 60.0
# seed 004_80a28bca441860d4.txt L2929-2930: after a failed attempt the wait grows to 90 s.
RECONNECT_FAILED_DELAY: Final = 90.0
# seed 004_80a28bca441860d4.txt L2936-2937: enquire_link only after 60 s without any PDU.
ENQUIRE_LINK_IDLE: Final = 60.0
# seed 004_80a28bca441860d4.txt L2962-2963: on ESME_RTHROTTLED pause this connection 1 s.
THROTTLE_PAUSE: Final = 1.0
# seed 004_80a28bca441860d4.txt L2967-2969: on ESME_RMSGQFUL pause 5 s, then 15 s, then 45 s
# "и т.д." (x3 each time).
QUEUE_FULL_DELAYS: Final = (5.0, 15.0, 45.0)
QUEUE_FULL_GROWTH: Final = 3.0
# seed 004_80a28bca441860d4.txt L2966: "сделать еще 3-5 попыток": 3-5 more attempts after the
# first queue-full answer; we take the upper bound.
QUEUE_FULL_MAX_ATTEMPTS: Final = 5
# seed 004_80a28bca441860d4.txt L2971-2972: the validity period must be at least 60 s.
MIN_VALIDITY_SECONDS: Final = 60
# SMPP 3.4 registered_delivery 0x01: ask for a final receipt (spec §9.1 item 12; the seed is
# silent, and without it no receipt ever comes).
REGISTERED_DELIVERY: Final = 0x01

# Our choices where the seed gives no figure (spec §1.6 lists them as unspecified).
ENQUIRE_LINK_TIMEOUT: Final = 30.0  # the seed gives no enquire_link_resp timeout
RESPONSE_TIMEOUT: Final = 30.0
# How long a deliver_sm_resp may wait for its message to be stored (see inbound_ack_timeout).
INBOUND_ACK_TIMEOUT: Final = 5.0
BIND_TIMEOUT: Final = 15.0
UNBIND_TIMEOUT: Final = 5.0
WINDOW: Final = 10  # seed 004_80a28bca441860d4.txt L2922: the client chooses the window
MAX_QUEUE: Final = 10_000
PRIMARY_PROBE_INTERVAL: Final = 300.0
TRANSIENT_RETRY_DELAYS: Final = (5.0, 30.0)  # two more tries after a transient status


class BindMode(StrEnum):
    """seed 004_80a28bca441860d4.txt L2925-2926: a session is tx, rx or trx."""

    TX = "tx"
    RX = "rx"
    TRX = "trx"

    @property
    def can_submit(self) -> bool:
        return self is not BindMode.RX


@dataclass(frozen=True, slots=True)
class HostAddress:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> HostAddress:
        """`host`, `host:port` or `[v6-address]:port`; the port defaults to 2775."""
        text = text.strip()
        if not text:
            raise ValueError("empty host")
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port_text = rest[1:] if rest.startswith(":") else ""
        elif text.count(":") == 1:
            host, _, port_text = text.partition(":")
        else:
            host, port_text = text, ""
        if not host:
            raise ValueError(f"host {text!r} has no name")
        if not port_text:
            return cls(host, DEFAULT_PORT)
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"host {text!r} has an invalid port")
        return cls(host, int(port_text))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """One provider account (one system_id). Lists may be given as any sequence."""

    name: str
    system_id: str
    password: str = field(repr=False)
    hosts: Sequence[str | HostAddress]  # primary first, then backups in order
    binds: Sequence[str | BindMode] = ("trx",)
    window: int = WINDOW
    response_timeout: float = RESPONSE_TIMEOUT
    bind_timeout: float = BIND_TIMEOUT  # TCP connect + bind_resp
    unbind_timeout: float = UNBIND_TIMEOUT
    enquire_link_idle: float = ENQUIRE_LINK_IDLE
    enquire_link_timeout: float = ENQUIRE_LINK_TIMEOUT
    reconnect_delay: float = RECONNECT_DELAY
    reconnect_failed_delay: float = RECONNECT_FAILED_DELAY
    primary_probe_interval: float = PRIMARY_PROBE_INTERVAL
    throttle_pause: float = THROTTLE_PAUSE
    queue_full_delays: Sequence[float] = QUEUE_FULL_DELAYS
    queue_full_max_attempts: int = QUEUE_FULL_MAX_ATTEMPTS
    transient_retry_delays: Sequence[float] = TRANSIENT_RETRY_DELAYS
    system_type: str = SYSTEM_TYPE
    interface_version: int = INTERFACE_VERSION
    addr_ton: int = 0  # the bind's own addr_ton/npi/range: the seed is silent, SMPP says 0/0/""
    addr_npi: int = 0
    address_range: str = ""
    source_ton: int = SOURCE_TON
    source_npi: int = SOURCE_NPI
    numeric_source_ton: int | None = None  # e.g. 1: used instead when the sender is all digits
    dest_ton: int = DEST_TON
    dest_npi: int = DEST_NPI
    registered_delivery: int = REGISTERED_DELIVERY
    min_validity_seconds: int = MIN_VALIDITY_SECONDS
    rate_limit: float | None = None  # submit_sm per second per session; None = no limit
    # query_sm/s per account: our figure; seed L2974-2975 leaves the query rate to the client.
    query_rate_limit: float = 10.0
    max_queue: int = MAX_QUEUE  # messages held by the pool before submit() waits
    status_overrides: Mapping[int, StatusAction | str] = field(default_factory=dict)
    tls: ssl.SSLContext | None = None
    max_command_length: int = 65536
    # An inbound handler may ask the session to hold a deliver_sm_resp until the message is
    # stored (so a crash makes the SMSC deliver it again instead of losing it); the answer,
    # always status 0 (seed L2932-2934), goes out after at most this long in any case.
    inbound_ack_timeout: float = INBOUND_ACK_TIMEOUT

    def __post_init__(self) -> None:
        where = f"account {self.name!r}"
        if not self.system_id:
            raise ValueError(f"{where}: system_id is empty")
        hosts = tuple(
            h if isinstance(h, HostAddress) else _parse_host(h, where) for h in self.hosts
        )
        if not hosts:
            raise ValueError(f"{where}: no hosts")
        binds = tuple(_parse_bind(b, where) for b in self.binds)
        if not binds:
            raise ValueError(f"{where}: no binds")
        if len(binds) > MAX_BINDS_PER_ACCOUNT:
            raise ValueError(
                f"{where}: {len(binds)} binds configured, the provider allows at most "
                f"{MAX_BINDS_PER_ACCOUNT} sessions per account (seed L2922-2923)"
            )
        object.__setattr__(self, "hosts", hosts)
        object.__setattr__(self, "binds", binds)
        object.__setattr__(self, "queue_full_delays", tuple(self.queue_full_delays))
        object.__setattr__(self, "transient_retry_delays", tuple(self.transient_retry_delays))
        object.__setattr__(self, "status_overrides", validate_overrides(self.status_overrides))
        for name in ("window", "max_queue", "max_command_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{where}: {name} must be at least 1")
        for name in (
            "response_timeout", "bind_timeout", "unbind_timeout", "enquire_link_idle",
            "enquire_link_timeout", "primary_probe_interval", "query_rate_limit",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{where}: {name} must be positive")
        for name in ("reconnect_delay", "reconnect_failed_delay", "throttle_pause"):
            if getattr(self, name) < 0:
                raise ValueError(f"{where}: {name} must not be negative")
        if self.rate_limit is not None and not self.rate_limit > 0:
            raise ValueError(f"{where}: rate_limit must be positive or None")
        if self.queue_full_max_attempts < 0:
            raise ValueError(f"{where}: queue_full_max_attempts must not be negative")
        if not self.queue_full_delays or any(d < 0 for d in self.queue_full_delays):
            raise ValueError(f"{where}: queue_full_delays needs non-negative seconds")
        if any(d < 0 for d in self.transient_retry_delays):
            raise ValueError(f"{where}: transient_retry_delays needs non-negative seconds")
        if self.min_validity_seconds < 0:
            raise ValueError(f"{where}: min_validity_seconds must not be negative")

    @property
    def host_addresses(self) -> tuple[HostAddress, ...]:
        return tuple(h for h in self.hosts if isinstance(h, HostAddress))

    @property
    def bind_modes(self) -> tuple[BindMode, ...]:
        return tuple(BindMode(b) for b in self.binds)

    def queue_full_delay(self, occurrence: int) -> float:
        """The wait after the `occurrence`-th queue-full answer (1-based): 5, 15, 45, x3 on."""
        delays = self.queue_full_delays  # a tuple since __post_init__
        if occurrence <= len(delays):
            return delays[occurrence - 1]
        return delays[-1] * QUEUE_FULL_GROWTH ** (occurrence - len(delays))


def _parse_host(text: str, where: str) -> HostAddress:
    try:
        return HostAddress.parse(text)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _parse_bind(value: str | BindMode, where: str) -> BindMode:
    try:
        return BindMode(value)
    except ValueError:
        raise ValueError(f"{where}: bind mode {value!r} is not one of tx, rx, trx") from None
