"""How much of one SMS a part takes over the air (3GPP TS 23.040 §9.2.3.16, §9.2.3.24).

One SMS carries 140 octets of user data, UDH included. GSM 7-bit sent unpacked over SMPP
(data_coding 0, one septet per octet) is measured in septets: 160 of them, the UDH taking
ceil(octets * 8 / 7) septets with its fill bits.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from pdu.constants import DataCoding

SMS_USER_DATA_OCTETS: Final = 140
SMS_USER_DATA_SEPTETS: Final = 160


class AirSize(NamedTuple):
    used: int
    limit: int
    unit: str  # "septets" or "octets"

    @property
    def fits(self) -> bool:
        return self.used <= self.limit


def air_size(udh_octets: int, text: bytes, data_coding: int) -> AirSize:
    # Octets above 0x7F cannot be unpacked septets: such data is packed or not GSM at all.
    if data_coding == DataCoding.SMSC_DEFAULT and text.isascii():
        return AirSize(-(-udh_octets * 8 // 7) + len(text), SMS_USER_DATA_SEPTETS, "septets")
    return AirSize(udh_octets + len(text), SMS_USER_DATA_OCTETS, "octets")
