"""message_id normalisation, so a submit_sm_resp id and a receipt id for the same message meet.

SMSCs write the two ids in different forms: hex in the resp and decimal in the receipt, leading
zeros on one side only, upper case on one side (specs/smpp-anchors.md §3 #1: "Got a DLR for an
unknown message id: 00B8BE19 (coded:B8BE19)"). Each side is normalised with the mode that
describes how *that side* writes ids; the canonical form of a number is its decimal string, so
a hex resp id and a decimal receipt id compare equal:

    normalize_message_id("0000B8BE19", "hex") == normalize_message_id("12107289", "decimal")

Modes:
- "as_is": the id unchanged (the SMSC writes both ids the same way).
- "hex": the id is hexadecimal (an optional "0x" prefix, any case, leading zeros); the result is
  its decimal string.
- "decimal": the id is decimal; the result is its decimal string without leading zeros.
- "strip_zeros": leading zeros removed, nothing else ("00b8be19" -> "b8be19").
- "casefold": case folded, nothing else.
- "auto": a guess per id: only decimal digits -> "decimal"; only hex digits -> "hex"; anything
  else -> "casefold". An id such as "12345678" that is valid in both bases is read as decimal,
  so an SMSC that writes hex ids without letters needs "hex" set explicitly.
Every mode but "as_is" first trims whitespace and NULs. An id that is not a number in the base
its mode expects (a UUID, "SAR-...") falls back to "casefold", so this never raises.
"""

from __future__ import annotations

import re
from typing import Final

MODES: Final = frozenset({"as_is", "hex", "decimal", "strip_zeros", "casefold", "auto"})

# SMPP 3.4 §5.2.23: message_id is at most 65 octets with its NUL. Longer "numbers" are not ids,
# and bounding the length keeps int() conversions cheap.
_MAX_NUMERIC_ID: Final = 64
_DECIMAL: Final = re.compile(r"[0-9]+")
_HEX: Final = re.compile(r"(?:0[xX])?([0-9a-fA-F]+)")


def normalize_message_id(raw: str, mode: str = "auto") -> str:
    """The form of `raw` that compares equal to the other side's id; see the module docstring
    for the modes. Raises ValueError only for an unknown mode."""
    if mode == "as_is":
        return raw
    text = raw.strip(" \t\r\n\x00")
    if mode == "casefold":
        return text.casefold()
    if mode == "strip_zeros":
        return text.lstrip("0") or ("0" if text else "")
    if mode == "decimal":
        return _from_decimal(text)
    if mode == "hex":
        return _from_hex(text)
    if mode == "auto":
        if _DECIMAL.fullmatch(text):
            return _from_decimal(text)
        return _from_hex(text)
    raise ValueError(f"unknown message_id mode {mode!r}; expected one of {sorted(MODES)}")


def _from_decimal(text: str) -> str:
    if len(text) <= _MAX_NUMERIC_ID and _DECIMAL.fullmatch(text):
        return str(int(text))
    return text.casefold()


def _from_hex(text: str) -> str:
    match = _HEX.fullmatch(text)
    if match is not None and len(text) <= _MAX_NUMERIC_ID:
        return str(int(match.group(1), 16))
    return text.casefold()
