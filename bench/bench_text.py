"""Time cib.text.near_duplicate_groups on synthetic copypasta.

    .venv/bin/python bench/bench_text.py [--n 100000] [--templates 1000] [--organic 50000]

Copypasta: ``--templates`` templates of 12-40 words, (n - organic) variants with 1-3 random word
edits (replace / insert / delete); organic: unique texts of 8-40 random words. Reports the time
of each step, the number of groups, and recall / precision against the planted templates.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def synthetic(n: int, n_templates: int, n_organic: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    vocab = np.array([f"{''.join(rng.choice(list('abcdefghijklmnopqrstuvwxyz'), rng.integers(2, 9)))}"
                      for _ in range(50_000)])
    templates = [list(vocab[rng.integers(0, len(vocab), rng.integers(12, 41))]) for _ in range(n_templates)]
    texts, truth = [], []
    for i in range(n - n_organic):
        t = int(rng.integers(n_templates))
        words = list(templates[t])
        for _ in range(int(rng.integers(1, 4))):
            k = int(rng.integers(len(words)))
            op = rng.random()
            if op < 0.4:
                words[k] = vocab[rng.integers(len(vocab))]
            elif op < 0.7:
                words.insert(k, vocab[rng.integers(len(vocab))])
            else:
                del words[k]
        texts.append(" ".join(words))
        truth.append(t)
    for i in range(n_organic):
        texts.append(" ".join(vocab[rng.integers(0, len(vocab), rng.integers(8, 41))]))
        truth.append(-1 - i)
    return texts, np.array(truth)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--templates", type=int, default=1_000)
    ap.add_argument("--organic", type=int, default=50_000)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    from cib.text import near_duplicate_groups, shingle_jaccard
    from cib.traces import normalize_text

    t0 = time.perf_counter()
    texts, truth = synthetic(args.n, args.templates, args.organic)
    print(f"generated {len(texts):,} texts ({sum(map(len, texts)) / len(texts):.0f} chars on average) "
          f"in {time.perf_counter() - t0:.1f}s")
    s = pd.Series(texts)
    near_duplicate_groups(s.iloc[:200], threshold=args.threshold)  # numba compile / cache load
    for r in range(args.repeat):
        t0 = time.perf_counter()
        g = near_duplicate_groups(s, threshold=args.threshold)
        dt = time.perf_counter() - t0
        print(f"run {r}: near_duplicate_groups on {len(s):,} texts: {dt:.2f}s "
              f"({dt / len(s) * 1e6:.1f} us/text)")

    # quality against the planted templates (pairs within a template may fall below the threshold:
    # up to 6 word edits apart, so 'recall' counts templates that ended up in one group)
    df = pd.DataFrame({"g": g.to_numpy(), "t": truth})
    cp = df[df["t"] >= 0]
    per_t = cp.groupby("t")["g"].nunique()
    mixed = df.groupby("g")["t"].apply(lambda x: (x >= 0).any() and x.nunique() > 1).sum()
    print(f"groups: {g.nunique():,}; templates in one group: {(per_t == 1).mean():.3f}; "
          f"mean groups per template: {per_t.mean():.2f}; groups mixing templates/organic: {mixed}")
    # missed verified pairs, on a sample of same-template pairs
    rng = np.random.default_rng(1)
    miss = tot = 0
    for _ in range(2000):
        t = rng.integers(args.templates)
        idx = np.flatnonzero(truth == t)
        if len(idx) < 2:
            continue
        a, b = rng.choice(idx, 2, replace=False)
        if shingle_jaccard(normalize_text(texts[a]), normalize_text(texts[b])) >= args.threshold:
            tot += 1
            miss += g.iloc[a] != g.iloc[b]
    print(f"sampled same-template pairs with Jaccard >= threshold: {tot}, in different groups: {miss}")


if __name__ == "__main__":
    main()
