"""Builds train.txt and dev.txt, the pretraining corpus of recipes/pretrain.py, from SQuAD v2.0 dev.

Input: the Wikipedia paragraphs ("context" fields) of SQuAD v2.0 dev's first five articles. Output, in
`read_pretraining_text`'s format: one sentence a line, a blank line between documents, one document per
article, as BERT made its Wikipedia data: SQuAD lists an article's paragraphs in their order (leaving
some out), so a sentence's successor is its continuation in the article (at most across a left-out
paragraph or a section break), and a random "next sentence" comes from another article. The first 80%
of each article's paragraphs go to train.txt, the rest to dev.txt (held out): five documents in each.

    python recipes/data/pretraining/make_corpus.py /work/shared/data/squad/dev-v2.0-first5.json

Sentences are split by rule (no sentence-splitting model is installed, and the text is edited prose): a
sentence ends at ".", "!" or "?" (and any closing quote or bracket) followed by a space and an
uppercase letter, a digit or an opening quote/bracket, unless the period ends a known abbreviation
or a single-letter initial ("J. R. R. Tolkien").
"""

import argparse
import json
import math
import re
from pathlib import Path

HERE = Path(__file__).parent
TRAIN_FRACTION = 0.8  # of each article's paragraphs, from its start; the rest is held out
ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "c", "ca", "no", "nos",
    "inc", "ltd", "co", "corp", "gen", "gov", "sgt", "col", "lt", "mt", "ft", "approx", "fig", "vol",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k",
}
# A candidate end: sentence punctuation, optional closing quotes/brackets, whitespace, then a capital,
# digit or opening quote/bracket.
BOUNDARY = re.compile(r"""[.!?]["'”’)\]]*\s+(?=["'“‘(\[]?[A-Z0-9])""")


def split_sentences(paragraph):
    """Sentences of one paragraph, by the rule in the module docstring.

    >>> split_sentences('He met Dr. Smith in the U.S. in 1999. "Yes," J. R. R. Tolkien said! Was it? No.')
    ['He met Dr. Smith in the U.S. in 1999.', '"Yes," J. R. R. Tolkien said!', 'Was it?', 'No.']
    """
    sentences, start = [], 0
    for match in BOUNDARY.finditer(paragraph):
        before = paragraph[start:match.start() + 1]
        last_word = before.split()[-1].rstrip(".").lstrip("\"'“‘([").lower() if before.split() else ""
        if before.endswith(".") and (last_word in ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha())):
            continue
        sentences.append(paragraph[start:match.end()].strip())
        start = match.end()
    rest = paragraph[start:].strip()
    return sentences + ([rest] if rest else [])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("squad_json", help="SQuAD JSON (v1.1 or v2.0) whose paragraphs become the corpus")
    parser.add_argument("--out-dir", default=HERE, type=Path)
    args = parser.parse_args()

    articles = json.loads(Path(args.squad_json).read_text(encoding="utf-8"))["data"]
    splits = {"train": [], "dev": []}
    for article in articles:
        paragraphs = [split_sentences(" ".join(p["context"].split())) for p in article["paragraphs"]]
        cut = math.ceil(TRAIN_FRACTION * len(paragraphs))
        for split, part in (("train", paragraphs[:cut]), ("dev", paragraphs[cut:])):
            splits[split].append([sentence for paragraph in part for sentence in paragraph])
    for split, documents in splits.items():
        text = "\n\n".join("\n".join(document) for document in documents) + "\n"
        (args.out_dir / f"{split}.txt").write_text(text, encoding="utf-8")
        print(f"{split}.txt: {len(documents)} documents (articles), {sum(map(len, documents))} sentences")


if __name__ == "__main__":
    main()
