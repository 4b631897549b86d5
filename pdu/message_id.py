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
from collections.abc import Callable
from typing import Final

MODES: Final = frozenset({"as_is", "hex", "decimal", "strip_zeros", "casefold", "auto"})

# SMPP 3.4 §5.2.23: message_id is at most 65 octets with its NUL. Longer "numbers" are not ids,
# and bounding the length keeps int() conversions cheap.
_MAX_NUMERIC_ID: Final = 64
_DECIMAL: Final = re.compile(r"[0-9]+")
_HEX: Final = re.compile(r"(?:0[xX])?([0-9a-fA-F]+)")
_TRIMMED: Final = " \t\r\n\x00"  # what every mode but "as_is" trims first


def normalize_message_id(raw: str, mode: str = "auto") -> str:
    """The form of `raw` that compares equal to the other side's id; see the module docstring
    for the modes. Raises ValueError only for an unknown mode."""
    return message_id_normalizer(mode)(raw)


def message_id_normalizer(mode: str) -> Callable[[str], str]:
    """`normalize_message_id` with its mode chosen once: for a caller that normalises every
    id of an account the same way (the daemon, twice per message). ValueError for an unknown
    mode."""
    normalizer = _NORMALIZERS.get(mode)
    if normalizer is None:
        raise ValueError(f"unknown message_id mode {mode!r}; expected one of {sorted(MODES)}")
    return normalizer


def _as_is(raw: str) -> str:
    return raw


def _casefold(raw: str) -> str:
    return raw.strip(_TRIMMED).casefold()


def _strip_zeros(raw: str) -> str:
    text = raw.strip(_TRIMMED)
    return text.lstrip("0") or ("0" if text else "")


def _decimal(raw: str) -> str:
    return _from_decimal(raw.strip(_TRIMMED))


def _hex(raw: str) -> str:
    return _from_hex(raw.strip(_TRIMMED))


def _auto(raw: str) -> str:
    text = raw.strip(_TRIMMED)
    if _DECIMAL.fullmatch(text):
        return _from_decimal(text)
    return _from_hex(text)


def _from_decimal(text: str) -> str:
    if len(text) <= _MAX_NUMERIC_ID and _DECIMAL.fullmatch(text):
        return str(int(text))
    return text.casefold()


def _from_hex(text: str) -> str:
    match = _HEX.fullmatch(text)
    if match is not None and len(text) <= _MAX_NUMERIC_ID:
        return str(int(match.group(1), 16))
    return text.casefold()


_NORMALIZERS: Final[dict[str, Callable[[str], str]]] = {
    "as_is": _as_is,
    "casefold": _casefold,
    "strip_zeros": _strip_zeros,
    "decimal": _decimal,
    "hex": _hex,
    "auto": _auto,
}
