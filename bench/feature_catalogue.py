"""Which entity-risk features earn their place: held-out AP with and without each, over several seeds.

    python -m bench.feature_catalogue [--seeds 1 2 3]

The catalogue: count, sum and mean of the amount over 1, 7 and 30 days, and the fraud
label rate over 1, 7 and 30 days, for cards and merchants; the distance from the card's
mean location over 1, 7 and 30 days. Those not declared in
`udfs.features` yet are the candidates. Per seed, the same honest set-up as
`bench.model_search` (21 training days with the labels known then; held-out days after
the label-delay gap, known-compromised cards left out) and today's parameters:
- today's features alone (the base);
- the base plus each candidate alone;
- forward selection: in the order of their gain alone, each candidate is added to the
  kept set if it raises the set's mean held-out AP across the seeds. Features come
from the pandas reference (`bench.pandas_features`, the same values as the engine).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench.model_search import BASE, SELECTED, START, TRAIN_DAYS, held_out, held_out_ap, world
from skewless.synthetic.generator import FRAUD_LABEL_DELAY_MEDIAN_MS
from udfs.features import CARD, ENTITIES, TRANSACTION_INPUTS, Feature, KmFromMean, LabelRate, WindowAgg
from udfs.units import DAY_MS, DAY_S

RESULTS = Path(__file__).parent / "results"
HORIZONS_S = (DAY_S, 7 * DAY_S, 30 * DAY_S)
def catalogue() -> tuple[Feature, ...]:
    """Every catalogue feature the base lacks."""
    declared = {f.name for f in BASE}
    wanted = [WindowAgg(e, "amount", how, w) for e in ENTITIES for how in ("count", "sum", "mean") for w in HORIZONS_S]
    wanted += [LabelRate(e, w) for e in ENTITIES for w in HORIZONS_S]
    wanted += [KmFromMean(CARD, w) for w in HORIZONS_S]  # a merchant's place is its own: cards only
    return tuple(f for f in wanted if f.name not in declared)


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame


def split(seed: int, candidates: tuple[Feature, ...]) -> Split:
    """One seed's world with every candidate computed, split as `bench.model_search` does."""
    rows = world(seed, BASE + candidates)
    train_end = START + TRAIN_DAYS * DAY_MS
    return Split(rows[(rows["event_time"] < train_end) & (rows["label_time"] < train_end)],
                 held_out(rows, train_end + FRAUD_LABEL_DELAY_MEDIAN_MS))


def mean_ap(splits: dict[int, Split], features: tuple[Feature, ...]) -> dict[int, float]:
    columns = [*TRANSACTION_INPUTS, *(f.name for f in features)]
    return {seed: held_out_ap(s.train, s.test, columns) for seed, s in splits.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    candidates = catalogue()
    splits = {seed: split(seed, candidates) for seed in args.seeds}
    base = mean_ap(splits, BASE)
    alone = {f: mean_ap(splits, (*BASE, f)) for f in candidates}
    kept: tuple[Feature, ...] = ()
    current = base
    steps = []
    for f in sorted(candidates, key=lambda c: -np.mean(list(alone[c].values()))):
        trial = mean_ap(splits, (*BASE, *kept, f))
        accepted = np.mean(list(trial.values())) > np.mean(list(current.values()))
        steps.append({"feature": f.name, **{f"alone, seed {s}": alone[f][s] - base[s] for s in args.seeds},
                      "alone, mean": np.mean([alone[f][s] - base[s] for s in args.seeds]),
                      "added to the kept set, mean": np.mean([trial[s] - current[s] for s in args.seeds]),
                      "kept": "yes" if accepted else "no"})
        if accepted:
            kept, current = (*kept, f), trial
    total = {s: current[s] - base[s] for s in args.seeds}
    summary = {"seeds": args.seeds, "base AP": base, "kept AP": current, "kept": [f.name for f in kept], "steps": steps}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "feature_catalogue.json"
    out.write_text(json.dumps(summary, indent=2, default=float))
    print(tabulate(steps, headers="keys", floatfmt="+.4f"))
    print(f"base AP {base}; with the kept features {current}; gain {total} -> {out}")
    if {f.name for f in kept} != set(SELECTED):
        print(f"the selection now keeps {[f.name for f in kept]}, not the declared {list(SELECTED)}: update udfs/features.py")


if __name__ == "__main__":
    main()
