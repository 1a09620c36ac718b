#!/usr/bin/env bash
# Times of `cpts audit verify`, `cpts backup` and `cpts restore` on a store (docs/benchmarks.md):
#   scripts/backup-bench.sh target/release/cpts /dev/shm/france.sqlite [postgres://…/postgres]
# The store is copied first (untouched); with a PostgreSQL admin URL, the SQLite → PostgreSQL →
# SQLite round trip is timed too. Files are written under /dev/shm/cpts-bench-backup-*.
set -euo pipefail
CPTS=$1 SRC=$2 PG=${3:-}
W=/dev/shm/cpts-bench-backup-$$
mkdir -p "$W"; trap 'rm -rf "$W"' EXIT
cp "$SRC" "$W/a.sqlite"
t() { local s=$(date +%s.%N); "$@"; local e=$(date +%s.%N); printf '  %6.2f s  %s\n' "$(echo "$e - $s" | bc)" "${*:2}" >&2; }
echo "== $SRC" >&2
t "$CPTS" --db "$W/a.sqlite" audit --limit 1 >/dev/null        # opens: migrations pending, if any
t "$CPTS" --db "$W/a.sqlite" audit verify
t "$CPTS" --db "$W/a.sqlite" backup "$W/f.jsonl"
t "$CPTS" --db "$W/a.sqlite" backup "$W/copie.sqlite"
ls -l "$W/f.jsonl" "$W/copie.sqlite" | awk '{printf "  %s : %d Mo\n", $9, $5/1e6}' >&2
t "$CPTS" --db "$W/b.sqlite" restore "$W/f.jsonl"
t "$CPTS" --db "$W/b.sqlite" audit verify
"$CPTS" --db "$W/a.sqlite" ledger check > "$W/a.check"; "$CPTS" --db "$W/b.sqlite" ledger check > "$W/b.check"
cmp "$W/a.check" "$W/b.check" && echo "  ledger check : identique ($(head -c 120 "$W/a.check" | head -1))" >&2
if [ -n "$PG" ]; then
  psql "$PG" -qc "DROP DATABASE IF EXISTS cpts_bench_backup" -qc "CREATE DATABASE cpts_bench_backup"
  URL="${PG%/*}/cpts_bench_backup"
  t "$CPTS" --db "$URL" restore "$W/f.jsonl"
  t "$CPTS" --db "$URL" audit verify
  t "$CPTS" --db "$URL" backup "$W/g.jsonl"
  "$CPTS" --db "$URL" ledger check > "$W/p.check"
  cmp "$W/a.check" "$W/p.check" && echo "  ledger check PostgreSQL : identique" >&2
  t "$CPTS" --db "$W/c.sqlite" restore "$W/g.jsonl"
  t "$CPTS" --db "$W/c.sqlite" audit verify
  psql "$PG" -qc "DROP DATABASE cpts_bench_backup"
fi
