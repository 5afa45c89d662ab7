"""ROUGE for extractive summarization: greedy oracle labels, trigram-blocked selection and evaluation, all
with the `rouge-score` package's tokenizer and scorer (Porter stemming on).

Example:
>>> sentences = ["The cat sat on the mat.", "Stocks fell.", "The dog barked at the cat."]
>>> oracle_selection(sentences, "The cat sat on the mat. The dog barked.")
[0, 2]
>>> select_sentences([0.9, 0.1, 0.8], ["a b c d", "x y", "a b c e"], k=2)
[0, 1]
"""

from collections import Counter

from rouge_score import rouge_scorer, tokenizers

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
_TOKENIZER = tokenizers.DefaultTokenizer(use_stemmer=True)


def rouge(summary, reference):
    """{"rouge1", "rouge2", "rougeL"}: F-measures of `summary` against `reference`, from rouge-score."""
    scores = rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=True).score(reference, summary)
    return {name: scores[name].fmeasure for name in ROUGE_TYPES}


def mean_rouge(summaries, references):
    """{rouge type: mean F} of `summaries` against `references` (strings, in the same order)."""
    scores = [rouge(summary, reference) for summary, reference in zip(summaries, references)]
    return {name: sum(score[name] for score in scores) / max(len(scores), 1) for name in ROUGE_TYPES}


def rouge_line(name, scores):
    """One printed result line: `name` right-aligned, then "ROUGE-1 0.1234  ROUGE-2 ..."."""
    return f"{name:>8}: " + "  ".join(f"{key.upper().replace('ROUGE', 'ROUGE-')} {value:.4f}"
                                     for key, value in scores.items())


def _ngrams(tokens, n):
    return Counter(zip(*(tokens[i:] for i in range(n))))


def _f_measure(overlap, candidate_count, reference_count):
    # rouge-score's n-gram F (clipped overlap / counts), kept as counts: the oracle scores every candidate
    # selection of an article by the change one sentence makes, not by tokenizing and stemming it again.
    if not overlap:
        return 0.0
    precision, recall = overlap / candidate_count, overlap / reference_count
    return 2 * precision * recall / (precision + recall)


def oracle_selection(sentences, reference, max_sentences=None):
    """Liu & Lapata's greedy oracle: the indices (in article order) of the sentences chosen by adding, one at a
    time, the sentence that most raises ROUGE-1 F + ROUGE-2 F of the selection (joined in article order, as
    rouge-score scores it) against `reference`, until none raises it (or `max_sentences` are chosen)."""
    tokens = [_TOKENIZER.tokenize(sentence) for sentence in sentences]
    reference_tokens = _TOKENIZER.tokenize(reference)
    references = [_ngrams(reference_tokens, n) for n in (1, 2)]
    totals = [sum(ref.values()) for ref in references]
    selected = [Counter(), Counter()]  # the selection's unigrams and bigrams
    overlaps, chosen, best = [0, 0], [], 0.0

    def change(index):
        """The unigrams and bigrams that adding sentence `index` adds (+1) and removes (-1)."""
        words = tokens[index]
        bigrams = _ngrams(words, 2)
        previous = next((i for i in reversed(chosen_sorted) if i < index and tokens[i]), None)
        following = next((i for i in chosen_sorted if i > index and tokens[i]), None)
        if words and previous is not None:
            bigrams[(tokens[previous][-1], words[0])] += 1
        if words and following is not None:
            bigrams[(words[-1], tokens[following][0])] += 1
        if words and previous is not None and following is not None:
            bigrams[(tokens[previous][-1], tokens[following][0])] -= 1
        return [Counter((gram,) for gram in words), bigrams]

    def scored(deltas):
        new_overlaps = [overlap + sum(min(sel[g] + d, ref[g]) - min(sel[g], ref[g]) for g, d in delta.items())
                        for overlap, sel, ref, delta in zip(overlaps, selected, references, deltas)]
        counts = [sum(sel.values()) + sum(delta.values()) for sel, delta in zip(selected, deltas)]
        return sum(map(_f_measure, new_overlaps, counts, totals)), new_overlaps

    while max_sentences is None or len(chosen) < max_sentences:
        chosen_sorted = sorted(chosen)
        candidates = []
        for index in sorted(set(range(len(sentences))) - set(chosen)):
            deltas = change(index)
            score, new_overlaps = scored(deltas)
            candidates.append((score, -index, deltas, new_overlaps))
        if not candidates:
            break
        score, index, deltas, new_overlaps = max(candidates, key=lambda candidate: candidate[:2])
        if score <= best:
            break
        best, overlaps = score, new_overlaps
        for sel, delta in zip(selected, deltas):
            sel.update(delta)
        chosen.append(-index)
    return sorted(chosen)


def trigrams(sentence):
    """The set of word trigrams of a sentence (rouge-score's tokens)."""
    return set(_ngrams(_TOKENIZER.tokenize(sentence), 3))


def select_sentences(scores, sentences, k=3, trigram_blocking=True):
    """The `k` best-scoring sentences (indices in article order), with trigram blocking (Liu & Lapata) unless
    `trigram_blocking` is False: a sentence that shares a trigram with one already chosen is skipped."""
    chosen, seen = [], set()
    for index in sorted(range(len(scores)), key=lambda i: (-scores[i], i)):
        grams = trigrams(sentences[index]) if trigram_blocking else set()
        if grams & seen:
            continue
        chosen.append(index)
        seen |= grams
        if len(chosen) == k:
            break
    return sorted(chosen)
