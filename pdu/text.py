"""Text <-> short_message octets, and the data_coding that goes with them.

Outgoing: `encode_text` picks GSM 7-bit (data_coding 0) when every character fits, else UCS-2
(data_coding 8). GSM 7-bit goes out unpacked, one septet per octet, the usual SMPP form
(specs/devino-smpp-http-soap.md §1.5: the seed does not say packed or unpacked, so unpacked is
the default and "gsm7_packed" is there for an SMSC that wants packing). Latin-1 (data_coding 3)
is only sent when asked for: under data_coding 0 an SMSC may read GSM, Latin-1 or ASCII
(specs/smpp-anchors.md §3 #11), so we never send Latin-1 octets under 0.

Incoming: `decode_text` never raises. It honours the SMPP 3.4 §5.2.19 values and the GSM 03.38
coding groups that SMSCs pass through (message class 0xF0-0xFF, general groups 0x10-0x7F,
message waiting 0xC0-0xEF); anything it cannot read becomes Latin-1, which keeps every octet.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import Final

from pdu.constants import DataCoding
from pdu.gsm7 import (
    BASIC_TABLE,
    ESCAPE,
    GSM7_CHARACTERS,
    SEPTETS_READ_AS_ASCII,
    decode_gsm7,
    encode_gsm7,
    pack_septets,
)

CODINGS: Final = frozenset({"auto", "gsm7", "gsm7_packed", "ucs2", "latin1"})


# ASCII octet -> its GSM 7-bit code when the character is in the basic table, else 0x80.
_GSM_CODE_BY_ASCII: Final = bytes(
    BASIC_TABLE.find(chr(octet)) if chr(octet) in BASIC_TABLE and octet != ESCAPE else 0x80
    for octet in range(256)
)
# str.encode("utf-16-be") looks the codec up by name on every call; this is the codec itself.
_utf_16_be_encode: Final = codecs.utf_16_be_encode


def encode_text(text: str, coding: str = "auto") -> tuple[int, bytes]:
    """Encode `text` for short_message / message_payload: (data_coding, octets).

    A plain tuple, not a record class: this runs for every message, and a tuple subclass (a
    NamedTuple) cost 0.3-0.5 µs more to build and free than the whole GSM encoding takes
    (benchmarks/RESULTS.md "Codec").

    coding: "auto" (GSM 7-bit unpacked if every character fits, else UCS-2), "gsm7" (unpacked),
    "gsm7_packed", "ucs2" (UTF-16-BE, so characters beyond U+FFFF take a surrogate pair),
    "latin1". Raises ValueError for an unknown coding or a text the forced coding cannot carry.
    """
    if coding == "auto":
        if text.isascii():
            # One translate from ASCII to GSM codes; an ASCII character that is no basic GSM
            # character ({, `, a control character...) becomes 0x80 and sends the text on.
            septets = text.encode("ascii").translate(_GSM_CODE_BY_ASCII)
            if septets.isascii():
                return DataCoding.SMSC_DEFAULT, septets
        if text.lstrip(GSM7_CHARACTERS):
            # a character no GSM table has. lstrip, not is_gsm7's regex: the usual non-ASCII
            # text here is Cyrillic, which fails on its first character, and lstrip gets there
            # 0.16 µs sooner (a text of Latin-1 accents pays 0.3 µs more instead)
            return DataCoding.UCS2, _utf_16_be_encode(text)[0]
        coding = "gsm7"
    if coding == "gsm7":
        return DataCoding.SMSC_DEFAULT, encode_gsm7(text)
    if coding == "ucs2":
        return DataCoding.UCS2, _utf_16_be_encode(text)[0]
    if coding == "latin1":
        return DataCoding.LATIN1, text.encode("latin-1")
    if coding == "gsm7_packed":
        return DataCoding.SMSC_DEFAULT, pack_septets(encode_gsm7(text))
    raise ValueError(f"unknown text coding {coding!r}; expected one of {sorted(CODINGS)}")


def decode_text(data: bytes, data_coding: int) -> str:
    """Decode short_message / message_payload octets. Never raises.

    data_coding 0 is read as unpacked GSM 7-bit; octets above 0x7F cannot be septets, so such a
    message is read as Latin-1 (SMSCs that send Latin-1 under 0, specs/smpp-anchors.md §3 #11).
    UCS-2 with an odd length or a lone surrogate shows U+FFFD for the damaged unit. Binary,
    unknown and reserved codings come back as Latin-1.
    """
    if data_coding == _SMSC_DEFAULT and not data.translate(None, SEPTETS_READ_AS_ASCII):
        # The usual receipt or MO text: what decode_gsm7 would return, two calls sooner.
        return data.decode("ascii")
    return _DECODER_BY_CODING[data_coding & 0xFF](data)


_SMSC_DEFAULT: Final = DataCoding.SMSC_DEFAULT


def _smsc_default(data: bytes) -> str:
    if data.isascii():
        return decode_gsm7(data)
    return data.decode("latin-1")


def _codec(name: str) -> Callable[[bytes], str]:
    def decode(data: bytes) -> str:
        return codecs.decode(data, name, "replace")

    return decode


def _latin1(data: bytes) -> str:
    return data.decode("latin-1")


_GSM: Final = _smsc_default
_UCS2: Final = _codec("utf-16-be")

# SMPP 3.4 §5.2.19.
_SMPP_CODINGS: Final[dict[int, Callable[[bytes], str]]] = {
    DataCoding.SMSC_DEFAULT: _smsc_default,
    DataCoding.IA5: _latin1,  # IA5 is ASCII; Latin-1 is its superset and keeps stray octets
    DataCoding.LATIN1: _latin1,
    DataCoding.JIS: _codec("shift_jis"),
    DataCoding.CYRILLIC: _codec("iso8859_5"),
    DataCoding.LATIN_HEBREW: _codec("iso8859_8"),
    DataCoding.UCS2: _UCS2,
    DataCoding.ISO_2022_JP: _codec("iso2022_jp"),
    DataCoding.KS_C_5601: _codec("euc_kr"),
}


def _gsm_dcs_decoder(dcs: int) -> Callable[[bytes], str]:
    """GSM 03.38 §4 coding groups, for the values SMPP leaves to the network."""
    group = dcs >> 4
    if group == 0xF:  # message class group: bit 2 chooses GSM 7-bit (0) or 8-bit data (1)
        return _latin1 if dcs & 0x04 else _GSM
    if 0x1 <= group <= 0x7:  # general / automatic deletion groups; bit 5 = compressed
        if dcs & 0x20:
            return _latin1
        return {0: _GSM, 2: _UCS2}.get((dcs >> 2) & 0x03, _latin1)
    if group in (0xC, 0xD):  # message waiting indication, GSM 7-bit
        return _GSM
    if group == 0xE:  # message waiting indication, UCS-2
        return _UCS2
    return _latin1


_DECODER_BY_CODING: Final[tuple[Callable[[bytes], str], ...]] = tuple(
    _SMPP_CODINGS.get(dcs) or (_latin1 if dcs < 0x10 else _gsm_dcs_decoder(dcs))
    for dcs in range(256)
)
