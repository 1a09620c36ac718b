#!/usr/bin/env python3
"""Server time of each page of the web application on the demo data, per role: p50 and p90.

Starts `target/release/cpts serve --demo` on a free port (build it first: `cargo build
--release`), signs in as each demo account through the real form, requests each page `--runs`
times after a warm-up, and prints a Markdown table. The time is the time to first byte on
loopback (the server's work: the client adds little). Used for docs/benchmarks.md.
"""
import argparse
import http.cookiejar
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

PAGES = [
    ("Tableau de bord", "/"),
    ("Liste des CPTS", "/cpts"),
    ("Alertes", "/alertes"),
    ("Simulation (réforme livrée)", "/simulation?reforme=projet-cnam-2019-04"),
    ("CPTS", "/cpts/cpts-paris-18"),
    ("Membres et gouvernance", "/cpts/cpts-paris-18/membres"),
    ("Cycle de vie", "/cpts/cpts-paris-18/cycle"),
    ("Contrat ACI", "/cpts/cpts-paris-18/contrat"),
    ("Financement", "/cpts/cpts-paris-18/financement"),
    ("Pourquoi ce montant", "/cpts/cpts-paris-18/financement/lignes/1"),
    ("Conventions", "/cpts/cpts-paris-18/conventions"),
    ("Indicateurs", "/cpts/cpts-paris-18/indicateurs"),
    ("Rapports", "/cpts/cpts-paris-18/rapports"),
    ("Journal de la CPTS", "/cpts/cpts-paris-18/journal"),
    ("Journal", "/journal"),
    ("Comptes", "/comptes"),
]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def start(binary):
    p = subprocess.Popen([binary, "serve", "--demo", "--bind", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    accounts, base = {}, None
    for line in p.stdout:
        m = re.match(r"^  (\S+)\s+(demo-\S+)\s", line)
        if m:
            accounts[m.group(1)] = m.group(2)
        m = re.search(r"cpts sert sur (http://\S+)", line)
        if m:
            base = m.group(1)
            break
    if not base:
        p.kill()
        sys.exit("le serveur n'a pas démarré")
    return p, base, accounts


def session(base, login, password):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    page = opener.open(base + "/connexion").read().decode()
    token = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"_csrf": token, "login": login, "password": password}).encode()
    req = urllib.request.Request(base + "/connexion", data=data, headers={"Origin": base})
    try:
        opener.open(req)
    except urllib.error.HTTPError as e:
        if e.code != 303:
            raise
    return opener


def timed(opener, url):
    t = time.perf_counter()
    try:
        r = opener.open(url)
        r.read(1)
        status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    return (time.perf_counter() - t) * 1000, status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/cpts")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--roles", default="coord.paris18,cpam.paris,ars.idf,admin")
    args = ap.parse_args()
    server, base, accounts = start(args.binary)
    try:
        roles = args.roles.split(",")
        rows = {}
        for role in roles:
            opener = session(base, role, accounts[role])
            for label, path in PAGES:
                for _ in range(3):
                    timed(opener, base + path)
                samples = [timed(opener, base + path) for _ in range(args.runs)]
                status = samples[0][1]
                ms = sorted(s[0] for s in samples)
                p90 = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
                rows.setdefault((label, path), {})[role] = (status, statistics.median(ms), p90)
        print("| page | " + " | ".join(roles) + " |")
        print("|---|" + "---|" * len(roles))
        for (label, path), by_role in rows.items():
            cells = []
            for role in roles:
                status, p50, p90 = by_role[role]
                cells.append(f"{p50:.1f} / {p90:.1f} ms" if status == 200 else f"({status})")
            print(f"| {label} `{path}` | " + " | ".join(cells) + " |")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
