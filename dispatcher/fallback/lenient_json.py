"""JSON from providers whose documents print it broken.

Several Devino answers are printed as invalid JSON: the Viber `/send` answer lacks the comma
after `"status" : "ok"` (seed 004 L6300-6310), the HLR `State` answer lacks commas and ends
with a trailing one (seed 004 L9752-9760). The real servers most likely send valid JSON, so
strict parsing comes first; only when it fails are the two documented defects repaired, and
only at line breaks, where no JSON string can be (a raw newline inside a string is itself
invalid JSON), so the repair never changes the text of a value.

Integers of any size stay exact Python ints (Viber and HLR ids exceed 2^53).
"""

from __future__ import annotations

import json
import re
from typing import Any

# A value ends (string, number, literal, object, array), a line break follows, and the next
# line starts a key or an element: the comma between them is missing.
_MISSING_COMMA = re.compile(r'(["\d}\]el])([ \t\r]*\n\s*)(?=["{\[])')
# A comma, a line break, then the end of an object or array: the comma is one too many.
_TRAILING_COMMA = re.compile(r",([ \t\r]*\n\s*)(?=[}\]])")


def loads_lenient(text: str) -> Any:
    """The value of `text`; ValueError when even the repaired text is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    repaired = _TRAILING_COMMA.sub(r"\1", _MISSING_COMMA.sub(r"\1,\2", text))
    return json.loads(repaired)
