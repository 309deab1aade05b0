#!/usr/bin/env python3
"""Generate a run-to-failure dataset of engines (telltale example).

usage: generate.py OUTDIR [--units N] [--test-units M] [--seed S]

Writes OUTDIR/cycles.csv (one row per unit per operating cycle: settings and
three sensors that drift as the engine wears) and OUTDIR/failures.csv (one row
per unit: the cycle at which it failed). Training units ("train_NNN") run until
they fail; test units ("test_NNN") are cut off at a random point before their
failure, as in the usual run-to-failure benchmarks, and their failure cycle is
still recorded so that `telltale evaluate` can score the prediction made at
their last observation. Standard library only; same seed, same files.
"""
import argparse
import math
import os
import random


def unit_rows(rng, uid, life, last):
    """Rows of cycles 1..last of a unit that fails at cycle `life`."""
    k = rng.uniform(1.5, 2.5)          # how sharply wear accelerates
    t0 = rng.gauss(642.0, 0.6)         # unit-to-unit offsets
    p0 = rng.gauss(553.0, 0.8)
    for c in range(1, last + 1):
        wear = (c / life) ** k
        setting = rng.choice((0.0, 10.0, 20.0))   # operating condition
        temp = t0 + 0.05 * setting + 9.0 * wear + rng.gauss(0, 0.5)
        pressure = p0 - 0.03 * setting - 7.0 * wear + rng.gauss(0, 0.6)
        vibration = 0.02 + 0.06 * wear * wear + abs(rng.gauss(0, 0.004))
        yield f"{uid},{c},{setting:.1f},{temp:.3f},{pressure:.3f},{vibration:.5f}\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--units", type=int, default=100, help="training units (run to failure)")
    ap.add_argument("--test-units", type=int, default=40, help="test units (cut off before failure)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "cycles.csv"), "w") as cy, \
         open(os.path.join(a.out, "failures.csv"), "w") as fa:
        cy.write("unit_id,cycle,setting,temp,pressure,vibration\n")
        fa.write("unit_id,cycle\n")
        units = [(f"train_{i:03d}", False) for i in range(1, a.units + 1)]
        units += [(f"test_{i:03d}", True) for i in range(1, a.test_units + 1)]
        for uid, is_test in units:
            life = int(rng.uniform(130, 360))
            last = int(life * rng.uniform(0.35, 0.95)) if is_test else life
            cy.writelines(unit_rows(rng, uid, life, last))
            fa.write(f"{uid},{life}\n")


if __name__ == "__main__":
    main()
