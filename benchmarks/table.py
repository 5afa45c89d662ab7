"""Prints a benchmark's rows as a Markdown table (for RESULTS.md) or as aligned columns."""


def print_table(header, rows, markdown):
    """`header` and `rows` are tuples of strings."""
    if markdown:
        print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
        print("\n".join("| " + " | ".join(row) + " |" for row in rows))
    else:
        for row in [header, *rows]:
            print("  ".join(f"{x:>12}" for x in row))
