"""Message ids from a counter, written in hex or decimal.

Real SMSCs differ here (specs/smpp-anchors.md §3 item 1: submit_sm_resp ids in hex, receipt
ids in decimal, leading zeros, case), so the simulator can write either base and can name a
message in its receipts in the other base than in its submit_sm_resp.
"""

from __future__ import annotations

from itertools import count

from dispatcher.smsc_sim.config import MessageIdFormat, ReceiptIdBase


class MessageIds:
    def __init__(self, id_format: MessageIdFormat, hex_width: int, start: int) -> None:
        # format() specs, made once: a nested f-string spec is rebuilt on every call
        specs: dict[MessageIdFormat, str] = {"hex": f"0{hex_width}X", "decimal": "d"}
        self._resp_spec = specs[id_format]
        self._other_spec = specs["decimal" if id_format == "hex" else "hex"]
        self._numbers = count(start)

    def allocate(self) -> tuple[int, str]:
        """The next message's number and its id as the submit_sm_resp carries it: "0000002A"
        (hex) or "42" (decimal)."""
        number = next(self._numbers)
        return number, format(number, self._resp_spec)

    def receipt_id(self, number: int, resp_id: str, base: ReceiptIdBase) -> str:
        """The id as a receipt names it: `resp_id` (the id `allocate` gave with `number`, not
        written twice), or the number in the other base."""
        if base == "same":
            return resp_id
        return format(number, self._other_spec)
