"""Prints a benchmark's rows as a Markdown table (for RESULTS.md) or as aligned columns."""


def print_table(header, rows, markdown=False):
    """`header` and `rows` are tuples of values, printed with `str`."""
    if markdown:
        print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
        print("\n".join("| " + " | ".join(str(x) for x in row) + " |" for row in rows))
        return
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))
