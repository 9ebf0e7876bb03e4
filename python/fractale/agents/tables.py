"""Text tables, as the studies and the cost agent print them."""

from __future__ import annotations


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, numbers right-aligned."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]

    def numeric(cell: str) -> bool:
        return cell.replace(".", "", 1).replace("-", "", 1).isdigit()

    lines = []
    for row in [headers, *rows]:
        cells = [
            str(cell).rjust(width) if numeric(str(cell)) else str(cell).ljust(width)
            for cell, width in zip(row, widths)
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
