"""What the simulator does: accounts, message ids, receipts, recording and injected faults.

Both dataclasses are mutable on purpose: a test may flip a fault while clients are connected
(`sim.config.faults.silent = True`) and the next PDU obeys it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from dispatcher.smsc_sim.receipts import check_state_mix

# seed 004_80a28bca441860d4.txt L2895: the SMSC listens on port 2775.
DEFAULT_PORT: Final = 2775
# seed 004_80a28bca441860d4.txt L2922-2923: "количество сессий до 4-х" (up to 4 sessions).
DEFAULT_MAX_SESSIONS: Final = 4
# The system_id the simulator names itself with in bind responses.
DEFAULT_SMSC_SYSTEM_ID: Final = "SMSC-SIM"

MessageIdFormat = Literal["hex", "decimal"]
ReceiptIdBase = Literal["same", "other"]


@dataclass(slots=True)
class FaultConfig:
    """Injected misbehaviour. Fractions are drawn from a random seeded by `SimConfig.seed`, so a
    run is repeatable; the per-destination rules give exact control and win over fractions.

    Precedence for a submit: `status_by_destination`, `invalid_destinations`,
    `throttle_first`, `queue_full_first`, then the three rates (checked in that order against
    one draw). "Tries" count every submit to that destination while a `throttle_first` or
    `queue_full_first` rule names it (every part of a multipart message is one try), across
    all sessions.

    The `*_after_pdus` counters are per connection and count every PDU received on it, the bind
    included: the N-th PDU is answered as usual, then the fault happens.
    """

    throttle_rate: float = 0.0  # fraction of submits answered ESME_RTHROTTLED
    queue_full_rate: float = 0.0  # fraction answered ESME_RMSGQFUL
    invalid_rate: float = 0.0  # fraction answered ESME_RINVDSTADR
    invalid_destinations: set[str] = field(default_factory=set)  # always ESME_RINVDSTADR
    throttle_first: dict[str, int] = field(default_factory=dict)  # dest -> first N tries throttled
    queue_full_first: dict[str, int] = field(default_factory=dict)  # dest -> first N queue full
    status_by_destination: dict[str, int] = field(default_factory=dict)  # dest -> any status
    # Clock seconds before each submit_sm / data_sm / submit_multi response; the
    # per-destination delay is added to it (different delays answer out of order).
    response_delay: float = 0.0
    response_delay_by_destination: dict[str, float] = field(default_factory=dict)
    # Send the receipt first and hold the submit_sm_resp until the client acknowledged it.
    receipt_before_resp: bool = False
    drop_after_pdus: int | None = None  # close the TCP connection (no unbind)
    unbind_after_pdus: int | None = None  # send unbind from the server side
    garbage_after_pdus: int | None = None  # write a malformed frame
    ignore_enquire_link: bool = False  # never answer enquire_link
    silent: bool = False  # answer nothing and deliver nothing (a hung SMSC)
    refuse_connections: bool = False  # accept TCP and close it at once, before any PDU

    def __post_init__(self) -> None:
        rates = (self.throttle_rate, self.queue_full_rate, self.invalid_rate)
        if any(not 0.0 <= rate <= 1.0 for rate in rates) or sum(rates) > 1.0:
            raise ValueError("fault rates must be fractions between 0 and 1 that sum to 1 at most")

    def has_destination_rules(self) -> bool:
        return bool(
            self.invalid_destinations
            or self.throttle_first
            or self.queue_full_first
            or self.status_by_destination
            or self.response_delay_by_destination
        )

    def has_rates(self) -> bool:
        return self.throttle_rate > 0 or self.queue_full_rate > 0 or self.invalid_rate > 0


@dataclass(slots=True)
class SimConfig:
    """The simulator's behaviour. Every duration is in clock seconds (see dispatcher.clock)."""

    # system_id -> password; any length is accepted (SMPP caps it at 8, real SMSCs do not).
    credentials: dict[str, str] = field(default_factory=lambda: {"test": "test"}, repr=False)
    # Concurrent binds per system_id; one more is refused with ESME_RBINDFAIL ("bind failed"),
    # not ESME_RALYBND, which SMPP reserves for a bind on an already bound connection.
    max_sessions: int = DEFAULT_MAX_SESSIONS
    smsc_system_id: str = DEFAULT_SMSC_SYSTEM_ID
    # "hex": upper-case, zero-padded to `hex_id_width` digits ("0000002A");
    # "decimal": plain digits ("42"). Ids count up from `message_id_start`.
    message_id_format: MessageIdFormat = "hex"
    hex_id_width: int = 8
    message_id_start: int = 1
    receipts: bool = True
    receipt_delay: float = 1.0
    # Final state mix of receipts, drawn per accepted message from a seeded random.
    receipt_states: dict[str, float] = field(default_factory=lambda: {"DELIVRD": 1.0})
    receipt_state_by_destination: dict[str, str] = field(default_factory=dict)
    # "other": the receipt names the message id in the other base than the submit_sm_resp
    # (hex resp -> decimal receipt and back), to test id normalisation.
    receipt_id_base: ReceiptIdBase = "same"
    # Also carry receipted_message_id / message_state / network_error_code TLVs in receipts
    # (off: only the text, so a client must parse it).
    receipt_tlvs: bool = True
    # Keep per-message state and recordings. Off for benchmarks: the hot path then decodes only
    # the header of a submit_sm when no receipt or destination rule needs its body, and
    # query_sm / cancel_sm / replace_sm answer that the message is unknown.
    record: bool = True
    seed: int = 0
    # How long a server-side unbind waits for unbind_resp before closing the connection.
    unbind_timeout: float = 5.0
    faults: FaultConfig = field(default_factory=FaultConfig)

    def __post_init__(self) -> None:
        if self.message_id_format not in ("hex", "decimal"):
            raise ValueError(
                f"message_id_format must be 'hex' or 'decimal', not {self.message_id_format!r}"
            )
        if self.max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        if self.receipt_delay < 0:
            raise ValueError("receipt_delay must not be negative")
        check_state_mix(self.receipt_states)
