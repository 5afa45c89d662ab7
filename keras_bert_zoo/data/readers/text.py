"""Plain text for pretraining: one sentence a line, blank lines between documents."""


def read_pretraining_text(paths):
    """Documents (lists of sentences) from text files: one sentence a line, blank lines between
    documents; each file ends a document. Lines are stripped and empty documents dropped.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "corpus.txt")
    >>> _ = open(path, "w").write("A cat sat.\\nIt slept.\\n\\nRain fell.\\n")
    >>> read_pretraining_text(path)
    [['A cat sat.', 'It slept.'], ['Rain fell.']]
    """
    documents = []
    for path in [paths] if isinstance(paths, (str, bytes)) or hasattr(paths, "__fspath__") else paths:
        documents.append([])
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    documents[-1].append(line)
                elif documents[-1]:
                    documents.append([])
    return [document for document in documents if document]
