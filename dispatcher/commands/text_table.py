"""The plain-text tables the operator commands print."""

from __future__ import annotations

from collections.abc import Sequence


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], *, right_from: int | None = None
) -> str:
    """Columns padded to their widest cell, empty cells for None; columns from `right_from`
    on are right-aligned (numbers); the last column is not padded."""
    cells = [[str(h) for h in headers]]
    cells += [["" if value is None else str(value) for value in row] for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(*cells, strict=True)]
    lines = []
    for row in cells:
        padded = []
        for index, (cell, width) in enumerate(zip(row, widths, strict=True)):
            if right_from is not None and index >= right_from:
                padded.append(cell.rjust(width))
            elif index == len(row) - 1:
                padded.append(cell)
            else:
                padded.append(cell.ljust(width))
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)
