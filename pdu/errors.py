"""The one exception the codec raises for malformed input."""


class PDUError(ValueError):
    """Input that cannot be read as SMPP: a bad command_length, a truncated field, a frame over
    the configured maximum. `decode` and `Framer.feed` raise nothing else.

    Unknown command ids, command_status values, TLVs and data codings are *not* errors: they
    are kept as raw numbers and bytes.
    """
