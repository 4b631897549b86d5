"""GSM 03.38 (3GPP TS 23.038 §6.2.1) 7-bit default alphabet: basic table, extension table,
septet counting, unpacked encoding (one septet per octet, the usual SMPP form) and packing.

Everything here runs per message, so the work is done by C loops (`codecs.charmap_encode` and
`charmap_decode`, `bytes.translate`, `re`, big-int arithmetic), never by a Python loop per
character.
No national-language shift tables: an operator who needs Turkish or Indic shift tables sends
UCS-2.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

ESCAPE: Final = 0x1B
CR: Final = 0x0D

# Index = GSM code. 0x1B is the escape to the extension table, not a character: "\x1b" in
# this string is a placeholder that the encoder never maps to.
BASIC_TABLE: Final = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

# Characters reached by ESC + code; each costs two septets.
EXTENSION_TABLE: Final[dict[int, str]] = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_ALL_CHARACTERS: Final = [c for code, c in enumerate(BASIC_TABLE) if code != ESCAPE] + list(
    EXTENSION_TABLE.values()
)
_NOT_GSM: Final = re.compile("[^" + "".join(map(re.escape, _ALL_CHARACTERS)) + "]")
GSM7_CHARACTERS: Final = "".join(_ALL_CHARACTERS)
"""Every character of the basic and extension tables: `not text.lstrip(GSM7_CHARACTERS)` is
`is_gsm7(text)`, faster for a text that is not (it stops at the first character it cannot
strip) and slower for one that is."""


def _build_encoder() -> tuple[str, bytes, tuple[tuple[bytes, bytes], ...]]:
    """Encoding runs in C in three steps: `codecs.charmap_encode` turns each GSM character
    into one "slot" octet (and rejects any other character), `bytes.translate` turns slots into
    GSM codes, and each extension character, translated to a marker octet 0x80+, is replaced by
    its ESC + code pair. The slot step exists because `codecs.charmap_build` only makes its fast
    C map when octet 0 stands for U+0000, while GSM code 0 is '@': ASCII characters take their
    own value as slot, other characters take the free octets 0x80-0xFF.
    """
    slot_table = ["\ufffe"] * 256  # U+FFFE marks an octet that no character maps to
    slot_table[0] = "\x00"  # required by charmap_build; a NUL slot is refused after encoding
    code_by_slot = bytearray(256)
    free_slots = iter(range(0x80, 0x100))
    markers: list[tuple[bytes, bytes]] = []
    characters = [(code, c, False) for code, c in enumerate(BASIC_TABLE) if code != ESCAPE]
    characters += [(code, c, True) for code, c in EXTENSION_TABLE.items()]
    for code, character, is_extension in characters:
        slot = ord(character) if character.isascii() else next(free_slots)
        slot_table[slot] = character
        if is_extension:
            marker = bytes((0x80 + len(markers),))
            markers.append((marker, bytes((ESCAPE, code))))
            code_by_slot[slot] = marker[0]
        else:
            code_by_slot[slot] = code
    return "".join(slot_table), bytes(code_by_slot), tuple(markers)


_SLOT_TABLE, _CODE_BY_SLOT, _EXTENSION_MARKERS = _build_encoder()
_SLOT_MAP: Final = codecs.charmap_build(_SLOT_TABLE)

# Decoding table for codecs.charmap_decode: a lone ESC is never looked up here (escape pairs are
# cut out first); octets 0x80-0xFF are not septets and become U+FFFD.
_DECODE_BASIC: Final = BASIC_TABLE.replace("\x1b", " ") + "\ufffd" * 128

SEPTETS_READ_AS_ASCII: Final = bytes(
    code for code, character in enumerate(BASIC_TABLE) if code != ESCAPE and ord(character) == code
)
"""The septets whose GSM character is the ASCII character of the same code (letters, digits,
space, LF, CR and the shared punctuation): a text made of these alone reads the same in both."""

_ESCAPE_PAIR: Final = re.compile(rb"(\x1b[\x00-\xff]?)")
# The fast path for well-formed text: each ESC + extension code becomes a marker octet 0x80+i
# that the second table reads as the extension character.
_MARKER_BY_ESCAPE_PAIR: Final = tuple(
    (bytes((ESCAPE, code)), bytes((0x80 + i,))) for i, code in enumerate(EXTENSION_TABLE)
)
_DECODE_MARKED: Final = (
    _DECODE_BASIC[:0x80]
    + "".join(EXTENSION_TABLE.values())
    + "\ufffd" * (128 - len(EXTENSION_TABLE))
)

# Packing: each septet becomes its 7 bits, least significant first, as '0'/'1' characters, so
# a whole message is one bit string that int(..., 2) turns into the packed octets.
_BITS_LSB_FIRST: Final[dict[int, str]] = {
    octet: format(octet & 0x7F, "07b")[::-1] for octet in range(256)
}
_SEPTET_BY_BITS: Final[dict[str, int]] = {
    format(septet, "07b")[::-1]: septet for septet in range(128)
}
_SEVEN_BITS: Final = re.compile("[01]{7}")


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM basic or extension table."""
    return _NOT_GSM.search(text) is None


def septet_count(text: str) -> int:
    """Septets needed for `text`: one per basic character, two per extension character.

    Raises ValueError when the text has a character outside both tables.
    """
    return len(encode_gsm7(text))


def encode_gsm7(text: str) -> bytes:
    """Unpacked GSM 7-bit: one septet per octet, extension characters as ESC + code.

    Raises ValueError when the text has a character outside both tables.
    """
    try:
        slots = codecs.charmap_encode(text, "strict", _SLOT_MAP)[0]
    except UnicodeEncodeError as error:
        raise _not_gsm7(text, error.start) from None
    if 0 in slots:
        raise _not_gsm7(text, text.index("\x00"))
    data = slots.translate(_CODE_BY_SLOT)
    if not data.isascii():
        for marker, escape_pair in _EXTENSION_MARKERS:
            data = data.replace(marker, escape_pair)
    return data


def decode_gsm7(data: bytes) -> str:
    """Unpacked GSM 7-bit to text. Never raises.

    TS 23.038 §6.2.1.1 rules for damaged input: ESC + a code missing from the extension table
    shows the basic character of that code; ESC ESC (escape to a further table) shows a space;
    a trailing lone ESC is dropped. Octets 0x80-0xFF are not GSM and show as U+FFFD.
    """
    if not data.translate(None, SEPTETS_READ_AS_ASCII):
        # Only letters, digits, space, LF, CR and the punctuation both alphabets share (the
        # usual receipt or MO text): the ASCII codec reads it, faster than the charmap.
        return data.decode("ascii")
    if ESCAPE not in data:
        return codecs.charmap_decode(data, "strict", _DECODE_BASIC)[0]
    if data.isascii() and b"\x1b\x1b" not in data:
        # Every ESC starts a pair, or ends the data: no pair can overlap another.
        for escape_pair, marker in _MARKER_BY_ESCAPE_PAIR:
            if escape_pair in data:
                data = data.replace(escape_pair, marker)
        # The ESCs left precede a code missing from the extension table (that code then reads
        # as its basic character) or end the data (dropped).
        return codecs.charmap_decode(data.replace(b"\x1b", b""), "strict", _DECODE_MARKED)[0]
    # Damaged input (ESC ESC, or octets above 0x7F): pair by pair, in order.
    pieces = _ESCAPE_PAIR.split(data)
    out: list[str] = []
    # re.split with one group alternates: plain, escape pair, plain, escape pair, ..., plain.
    for position, piece in enumerate(pieces):
        if position % 2 == 0:
            out.append(codecs.charmap_decode(piece, "strict", _DECODE_BASIC)[0])
        else:
            out.append(_decode_escape_pair(piece))
    return "".join(out)


def _decode_escape_pair(pair: bytes) -> str:
    if len(pair) == 1:
        return ""
    code = pair[1]
    if code == ESCAPE:
        return " "
    return EXTENSION_TABLE.get(code) or _DECODE_BASIC[code]


def pack_septets(data: bytes) -> bytes:
    """Pack septets (one per octet, high bit ignored) 8 into 7 octets, least significant first.

    TS 23.038 §6.1.2.3.1: when the last octet would carry 7 spare bits a receiver without the
    septet count would read an extra '@', so those bits hold CR instead; and a message whose own
    last character is CR on an octet boundary gets a second CR so that the receiver's stripping
    of a padding CR does not remove the real one.
    """
    count = len(data)
    if count % 8 == 7 or (count and count % 8 == 0 and data[-1] & 0x7F == CR):
        data += bytes((CR,))
        count += 1
    if not count:
        return b""
    bits = data.decode("latin-1").translate(_BITS_LSB_FIRST)[::-1]
    return int(bits, 2).to_bytes((count * 7 + 7) // 8, "little")


def unpack_septets(data: bytes, count: int | None = None) -> bytes:
    """Unpack octets into septets (one per octet).

    With `count`, exactly that many septets (fewer if the data runs out). Without it, as many as
    fit, minus a final CR that sits alone on an octet boundary: that is the padding
    `pack_septets` writes when 7 bits were spare (TS 23.038 §6.1.2.3.1).
    """
    available = len(data) * 8 // 7
    wanted = available if count is None else max(0, min(count, available))
    if not wanted:
        return b""
    bits = format(int.from_bytes(data, "little"), f"0{len(data) * 8}b")[::-1]
    septets = bytes(map(_SEPTET_BY_BITS.__getitem__, _SEVEN_BITS.findall(bits, 0, wanted * 7)))
    if count is None and wanted % 8 == 0 and septets[-1] == CR:
        return septets[:-1]
    return septets


def header_septets(header_octets: int) -> int:
    """Septets a user data header of this many octets (UDHL included) occupies, fill bits
    included, so that the text after it starts on a septet boundary (TS 23.040 §9.2.3.24)."""
    return (header_octets * 8 + 6) // 7


def _require_gsm7(text: str) -> None:
    found = _NOT_GSM.search(text)
    if found is not None:
        raise _not_gsm7(text, found.start())


def _not_gsm7(text: str, index: int) -> ValueError:
    character = text[index]
    return ValueError(
        f"character {character!r} (U+{ord(character):04X}) at index {index} "
        "is not in the GSM 03.38 alphabet"
    )
