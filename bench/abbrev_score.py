#!/usr/bin/python3
"""Scores abbreviation definitions against a gold set, per document.

Usage: abbrev_score.py GOLD.jsonl PRED.jsonl [--misses N]

GOLD: one {"id", "short", "long"} pair a line. PRED: one object per document,
{"id", "entities": [{"type": "acronym", "attributes": {"short", "long"}}, ...]}.
Per document the set of (short, long) pairs is compared with the gold set
(short forms exactly, long forms case-insensitively with whitespace
collapsed); precision, recall and F1 are summed over the corpus.
"""
import argparse
import json
import sys


def normalize(short, long_form):
    return (short, " ".join(long_form.split()).casefold())


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    sys.exit(f"{path}:{number}: {e}")


def load_gold(path):
    gold = {}
    for row in read_jsonl(path):
        gold.setdefault(str(row["id"]), set()).add(normalize(row["short"], row["long"]))
    return gold


def load_pred(path):
    pred = {}
    for row in read_jsonl(path):
        pairs = pred.setdefault(str(row["id"]), set())
        for entity in row.get("entities") or []:
            if entity.get("type") != "acronym":
                continue
            attributes = entity.get("attributes") or {}
            short, long_form = attributes.get("short"), attributes.get("long")
            if isinstance(short, str) and isinstance(long_form, str):
                pairs.add(normalize(short, long_form))
    return pred


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gold")
    parser.add_argument("pred")
    parser.add_argument("--misses", type=int, default=0, help="print up to N false positives and N false negatives")
    args = parser.parse_args()
    gold, pred = load_gold(args.gold), load_pred(args.pred)
    correct = output = total = 0
    false_pos, false_neg = [], []
    for doc in sorted(set(gold) | set(pred)):
        g, p = gold.get(doc, set()), pred.get(doc, set())
        correct += len(g & p)
        output += len(p)
        total += len(g)
        false_pos += [(doc, s, l) for s, l in sorted(p - g)]
        false_neg += [(doc, s, l) for s, l in sorted(g - p)]
    precision = correct / output if output else 0.0
    recall = correct / total if total else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(f"precision {precision:.4f} recall {recall:.4f} f1 {f1:.4f} (correct {correct}, output {output}, gold {total})")
    if args.misses > 0:
        print(f"false positives ({len(false_pos)}):")
        for doc, s, l in false_pos[: args.misses]:
            print(f"  {doc}\t{s}\t{l}")
        print(f"false negatives ({len(false_neg)}):")
        for doc, s, l in false_neg[: args.misses]:
            print(f"  {doc}\t{s}\t{l}")


if __name__ == "__main__":
    main()
