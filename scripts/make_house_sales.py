#!/usr/bin/env python3
"""Generates data/house_sales.csv deterministically (Python's random module, seeded): a
table as people have them, for the demo's step 9 (text and date columns).

Written as pandas writes a frame with its index (an unnamed first column) and ';' as the
delimiter. price = 40000 + 1100*area + 9000*rooms + city premium + 15000*summer sale +
6000*(year - 2019) + noise(sd 15000); ~3% of cities and areas missing.
Re-run: python3 scripts/make_house_sales.py > data/house_sales.csv
"""
import random

rng = random.Random(20261204)
cities = {"Lyon": 30000, "Paris": 120000, "Nantes": 10000, "Lille": 0, "Saint-Étienne": -15000}
print(";city;area;rooms;sold;price")
for i in range(1200):
    city = rng.choice(list(cities))
    area = rng.uniform(30, 200)
    rooms = rng.randint(1, 7)
    year = rng.randint(2019, 2023)
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    summer = 1 if month in (6, 7, 8) else 0
    price = 40000 + 1100 * area + 9000 * rooms + cities[city] + 15000 * summer + 6000 * (year - 2019) + rng.gauss(0, 15000)
    cells = [str(i), city, f"{area:.1f}", str(rooms), f"{year}-{month:02d}-{day:02d}", f"{price:.0f}"]
    if rng.random() < 0.03:
        cells[1] = ""
    if rng.random() < 0.03:
        cells[2] = "NA"
    print(";".join(cells))
