#!/usr/bin/env python3
"""Generates data/house_prices.csv deterministically (Python's random module, seeded).

price = 50000 + 1200*area - 800*age + 15000*location_score + noise(sd 20000)
with ~4% missing values per feature and ~2% outlier rows (typos in area, absurd ages,
mis-keyed prices), the mess the demo's cleaning steps are there to handle.
Re-run: python3 scripts/make_house_prices.py > data/house_prices.csv
"""
import random

rng = random.Random(20261122)
print("area,age,location_score,price")
for i in range(1000):
    area = rng.uniform(40, 250)
    age = rng.uniform(0, 80)
    loc = rng.uniform(1, 10)
    price = 50000 + 1200 * area - 800 * age + 15000 * loc + rng.gauss(0, 20000)
    u = rng.random()
    if u < 0.007:
        area *= 10          # a typo: one zero too many
    elif u < 0.014:
        age = rng.uniform(300, 900)
    elif u < 0.02:
        price *= 8          # mis-keyed price
    cells = [f"{area:.1f}", f"{age:.1f}", f"{loc:.2f}", f"{price:.0f}"]
    for k in range(3):
        if rng.random() < 0.04:
            cells[k] = rng.choice(["", "NA"])
    print(",".join(cells))
