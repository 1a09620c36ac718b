#!/usr/bin/env python3
"""Load on a running `cpts serve`, measured with wrk (Debian): p50, p99, throughput and errors per
endpoint at 16 and 64 connections, and the ratio to the same server's static file throughput.
A benchmark, not a test: figures go to docs/benchmarks.md with the command that made them.

The store must already hold the data (e.g. the synthetic France: `cpts --db FILE demo --national`).
The script adds two accounts (national admin, ARS agent of région --region) and an API token,
starts `target/release/cpts serve --db STORE` (twice with --two, both on the same store: a
PostgreSQL one), signs in through the real form, then runs wrk on each endpoint.

    python3 scripts/load.py --db national.sqlite [--seconds 10] [--connections 16,64]
    python3 scripts/load.py --db postgres://… --two      # one then two servers on one PostgreSQL
    python3 scripts/load.py --db national.sqlite --mixed # reads while values and report acts are written
"""
import argparse
import http.cookiejar
import json
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

BIN = "target/release/cpts"


def cpts(db, *args, user=None, stdin=None):
    cmd = [BIN, "--db", db] + (["--user", user] if user else []) + list(args)
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if r.returncode != 0 and "existe déjà" not in r.stderr:
        sys.exit(f"{' '.join(cmd)} : {r.stderr.strip()}")
    return r.stdout


def accounts(db, region):
    password = "charge-" + secrets.token_hex(8)
    for login, role, scope in [("charge-admin", "admin-national", None), ("charge-ars", "agent-ars", region)]:
        args = ["user", "add", login, "--name", f"Banc de charge ({role})", "--role", role, "--password-stdin"]
        if scope:
            args += ["--scope", scope]
        cpts(db, *args, stdin=password + "\n")
        cpts(db, "user", "passwd", login, stdin=password + "\n")
    out = cpts(db, "token", "add", "banc de charge", user="charge-admin")
    token = re.search(r"cpts_[0-9a-f]{64}", out).group(0)
    return password, token


def serve(db):
    p = subprocess.Popen([BIN, "--db", db, "serve", "--bind", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    for line in p.stdout:
        m = re.search(r"cpts sert sur (http://\S+)", line)
        if m:
            threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
            return p, m.group(1)
    p.kill()
    sys.exit("le serveur n'a pas démarré")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def sign_in(base, login, password):
    """The session cookie after signing in through the form."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    page = opener.open(base + "/connexion").read().decode()
    token = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"_csrf": token, "login": login, "password": password}).encode()
    try:
        opener.open(urllib.request.Request(base + "/connexion", data=data, headers={"Origin": base}))
    except urllib.error.HTTPError as e:
        if e.code != 303:
            raise
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "cpts_session" not in cookie:
        sys.exit(f"connexion de {login} refusée")
    return cookie


def api(base, token, path, body=None):
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def status(base, path, header):
    k, v = header.split(": ", 1)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        return opener.open(urllib.request.Request(base + path, headers={k: v})).status
    except urllib.error.HTTPError as e:
        return e.code


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url, header, connections, seconds):
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s", "-H", header, url],
                         capture_output=True, text=True).stdout
    lat = {m.group(1): float(m.group(2)) * UNITS[m.group(3)] for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return {"p50": lat.get("50"), "p99": lat.get("99"), "rps": rps, "errors": non2xx + errors}


def endpoints(base, admin, ars, token):
    listed = api(base, token, "/api/v1/cpts?per_page=1")
    one = listed["items"][0]["id"] if listed["items"] else "introuvable"
    bearer = f"Authorization: Bearer {token}"
    return [
        ("fichier statique `/static/style.css`", "/static/style.css", f"Cookie: {admin}"),
        ("tableau de bord national `/`", "/", f"Cookie: {admin}"),
        ("tableau de bord régional `/` (ARS)", "/", f"Cookie: {ars}"),
        (f"page d'une CPTS `/cpts/{one}`", f"/cpts/{one}", f"Cookie: {admin}"),
        ("API, liste `/api/v1/cpts` (100 premières)", "/api/v1/cpts", bearer),
        ("API, simulation France `/api/v1/simulation`", "/api/v1/simulation?reform=projet-cnam-2019-04", bearer),
    ], listed["total"]


def table(rows, conns):
    print("| endpoint | à froid | " + " | ".join(f"c={c}: p50 / p99 / req/s / ratio / erreurs" for c in conns) + " |")
    print("|---|---|" + "---|" * len(conns))
    static = {c: rows[0][1][c]["rps"] for c in conns}
    for label, by in rows:
        cells = []
        for c in conns:
            r = by[c]
            cells.append(f"{r['p50']:.1f} / {r['p99']:.1f} ms / {r['rps']:.0f} / {r['rps'] / static[c]:.3f} / {r['errors']}")
        print(f"| {label} | {by['cold']:.0f} ms | " + " | ".join(cells) + " |")


def first(url, header):
    """One request before the measures, timed: the cold answer (computed, then kept until the
    data changes). wrk then measures the server as it serves: with its caches warm."""
    k, v = header.split(": ", 1)
    t = time.perf_counter()
    try:
        urllib.request.build_opener(NoRedirect).open(urllib.request.Request(url, headers={k: v})).read()
    except urllib.error.HTTPError:
        pass
    return (time.perf_counter() - t) * 1000


def run(targets, header_of, conns, seconds):
    rows = []
    for label, path, header in targets:
        by = {"cold": first(header_of(path), header)}
        for c in conns:
            by[c] = wrk(header_of(path), header, c, seconds)
        rows.append((label, by))
        print(f"  {label} : " + ", ".join(f"c={c} p99 {by[c]['p99']:.1f} ms, {by[c]['rps']:.0f}/s, {by[c]['errors']} erreurs" for c in conns), file=sys.stderr)
    return rows


def post(base, token, path, body):
    """(status, answer) of a JSON POST."""
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def mixed(args, base, admin, ars, token):
    """Dashboards read with wrk while a writer corrects indicator values and validates submitted
    reports through the API; then every write is read back and the ledgers checked."""
    ids = [i["id"] for i in api(base, token, "/api/v1/cpts?per_page=500&stage=signe")["items"]]
    if not ids:
        ids = [i["id"] for i in api(base, token, "/api/v1/cpts?per_page=500")["items"]]
    written, failed, validated = {}, [], []
    stop = time.time() + args.seconds

    def writer():
        k = 0
        while time.time() < stop and k < len(ids) * 4:
            cid = ids[k % len(ids)]
            k += 1
            values = api(base, token, f"/api/v1/cpts/{cid}/values?per_page=3")["items"]
            rows = [{"indicator": v["indicator"], "period": v["period"], "value": str(round(float(v["value"]) + 1, 2))}
                    for v in values if v["numerator"] is None]
            if rows:
                st, out = post(base, token, f"/api/v1/cpts/{cid}/values", {"rows": rows})
                if st == 200:
                    for r in rows:
                        written[(cid, r["indicator"], r["period"])] = r["value"]
                else:
                    failed.append((cid, st, out))
            for r in api(base, token, f"/api/v1/cpts/{cid}/reports?per_page=100")["items"]:
                if r["status"] == "soumis":
                    st, out = post(base, token, f"/api/v1/cpts/{cid}/reports/{r['contract']}/{r['year']}/acts", {"act": "valider"})
                    (validated if st == 200 else failed).append((cid, st, out))

    # Both dashboards computed once before the writes start: the run measures how they keep
    # up with writes, not their first computation (timed apart, like the other measures).
    cold = [first(base + "/", f"Cookie: {c}") for c in (admin, ars)]
    print(f"à froid : national {cold[0]:.0f} ms, régional {cold[1]:.0f} ms")
    t = threading.Thread(target=writer)
    t.start()
    reads = [None, None]
    def read(i, cookie):
        reads[i] = wrk(base + "/", f"Cookie: {cookie}", 8, args.seconds)
    rs = [threading.Thread(target=read, args=(i, c)) for i, c in enumerate([admin, ars])]
    [r.start() for r in rs]
    [r.join() for r in rs]
    t.join()
    lost = []
    for (cid, ind, period), value in written.items():
        got = api(base, token, f"/api/v1/cpts/{cid}/values?indicator={ind}&period={period}")["items"]
        if not got or float(got[0]["value"]) != float(value):
            lost.append((cid, ind, period, value, got[:1]))
    check = subprocess.run([BIN, "--db", args.db, "ledger", "check"], capture_output=True, text=True)
    print(f"lectures : tableau de bord national {reads[0]['rps']:.0f}/s (p99 {reads[0]['p99']:.1f} ms, {reads[0]['errors']} erreurs), "
          f"régional {reads[1]['rps']:.0f}/s (p99 {reads[1]['p99']:.1f} ms, {reads[1]['errors']} erreurs)")
    print(f"écritures : {len(written)} valeurs corrigées, {len(validated)} rapports validés, {len(failed)} refus ou erreurs {failed[:3]}")
    print(f"relecture : {len(lost)} écriture(s) perdue(s) {lost[:3]}")
    print(f"cpts ledger check (code {check.returncode}) : {check.stdout.strip() or check.stderr.strip()}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", default="16,64")
    ap.add_argument("--region", default="53")
    ap.add_argument("--two", action="store_true", help="then two servers on the same store (PostgreSQL)")
    ap.add_argument("--mixed", action="store_true", help="only the mixed run: dashboards read while values and report acts are written")
    args = ap.parse_args()
    conns = [int(c) for c in args.connections.split(",")]
    password, token = accounts(args.db, args.region)
    server, base = serve(args.db)
    try:
        admin = sign_in(base, "charge-admin", password)
        ars = sign_in(base, "charge-ars", password)
        targets, total = endpoints(base, admin, ars, token)
        print(f"{total} CPTS ; wrk -t2, {args.seconds} s par mesure, {base}", file=sys.stderr)
        if args.mixed:
            mixed(args, base, admin, ars, token)
            return
        rows = run(targets, lambda p: base + p, conns, args.seconds)
        table(rows, conns)
        if args.two:
            second, base2 = serve(args.db)
            try:
                # A session opened on one server works on the other (sessions are in the store).
                shared = status(base2, "/", f"Cookie: {admin}")
                print(f"\nsession ouverte sur {base}, lue sur {base2} : HTTP {shared}")
                for label, path, header in targets[1:]:
                    for c in conns:
                        one = wrk(base + path, header, c, args.seconds)["rps"]
                        both = [None, None]
                        def go(i, b):
                            both[i] = wrk(b + path, header, c // 2, args.seconds)
                        ts = [threading.Thread(target=go, args=(i, b)) for i, b in enumerate([base, base2])]
                        [t.start() for t in ts]
                        [t.join() for t in ts]
                        two = both[0]["rps"] + both[1]["rps"]
                        errs = both[0]["errors"] + both[1]["errors"]
                        print(f"| {label} | c={c} | un serveur {one:.0f}/s | deux serveurs {two:.0f}/s ({two / one:.2f}×) | erreurs {errs} |")
            finally:
                second.terminate()
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
