#!/usr/bin/env python3
"""Refresh data/geo/ from the INSEE-based npm package @etalab/decoupage-administratif.

Usage: python3 scripts/refresh-geo.py   (needs npm; downloads one pinned package, nothing else)

Writes UTF-8, ';'-separated files (French habit), sorted by code:
  communes.csv      code;nom;type;parent;departement;region;population
                    type = commune (commune actuelle) or arrondissement (arrondissement municipal
                    of Paris, Lyon, Marseille; parent = the city's code). Communes déléguées and
                    associées are left out: they have no population of their own.
  departements.csv  code;nom;region
  regions.csv       code;nom
Population = INSEE population municipale (see data/geo/SOURCE.md for the vintage).
"""
import csv
import json
import pathlib
import subprocess
import tarfile
import tempfile

PACKAGE = "@etalab/decoupage-administratif@6.0.0"
OUT = pathlib.Path(__file__).resolve().parent.parent / "data" / "geo"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        name = subprocess.run(
            ["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True, capture_output=True, text=True
        ).stdout.strip().splitlines()[-1]
        with tarfile.open(pathlib.Path(tmp) / name) as tar:
            tar.extractall(tmp, filter="data")
        data = pathlib.Path(tmp) / "package" / "data"
        communes = json.loads((data / "communes.json").read_text(encoding="utf-8"))
        departements = json.loads((data / "departements.json").read_text(encoding="utf-8"))
        regions = json.loads((data / "regions.json").read_text(encoding="utf-8"))

    OUT.mkdir(parents=True, exist_ok=True)
    kinds = {"commune-actuelle": "commune", "arrondissement-municipal": "arrondissement"}
    rows = []
    for c in communes:
        kind = kinds.get(c["type"])
        if kind is None:
            continue
        for field in ("nom",):
            if ";" in c[field] or "\n" in c[field]:
                raise SystemExit(f"unexpected separator in {c['code']}")
        population = c.get("population")
        rows.append([c["code"], c["nom"], kind, c.get("commune", ""), c.get("departement", ""),
                     c.get("region", ""), "" if population is None else str(population)])
    rows.sort(key=lambda r: r[0])
    write(OUT / "communes.csv", ["code", "nom", "type", "parent", "departement", "region", "population"], rows)
    write(OUT / "departements.csv", ["code", "nom", "region"],
          sorted([d["code"], d["nom"], d["region"]] for d in departements))
    write(OUT / "regions.csv", ["code", "nom"], sorted([r["code"], r["nom"]] for r in regions))
    print(f"{len(rows)} communes et arrondissements, {len(departements)} départements, {len(regions)} régions")


def write(path: pathlib.Path, header: list, rows: list) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=";", lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


if __name__ == "__main__":
    main()
