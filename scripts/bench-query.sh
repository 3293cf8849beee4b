#!/usr/bin/env bash
# bench-query.sh: `hdi query bars` end to end against psql running the same SQL.
#
# Usage: scripts/bench-query.sh [ADMIN_URL]
#
# ADMIN_URL (default $HDI_TEST_DATABASE_URL) is a PostgreSQL URL on which the
# script may create and drop a database. It:
#   1. builds bin/hdi,
#   2. creates database hdi_bench_<pid>, migrates it (hdi migrate up),
#   3. generates >= 10M one-minute bars with generate_series (20 instruments x
#      365 days x 1440 minutes = 10.5M rows in ohlcv_1m) and symbol mappings
#      (a continuous symbol BENCH.c.0 rolling every 30 days, plus raw symbols),
#   4. times `hdi query bars -s BENCH.c.0 --interval 1m` over 7 days (10,080
#      result rows) as CSV to /dev/null, and psql running the same SQL (the
#      query file's text with the values substituted) with --csv to /dev/null,
#      each RUNS times (default 10), and prints the medians and the ratio,
#   5. drops the database.
set -euo pipefail
ADMIN_URL=${1:-${HDI_TEST_DATABASE_URL:?set HDI_TEST_DATABASE_URL or pass an admin URL}}
RUNS=${RUNS:-10}
cd "$(dirname "$0")/.."
DB=hdi_bench_$$
base=${ADMIN_URL%%\?*}
query=""
[[ "$ADMIN_URL" == *\?* ]] && query="?${ADMIN_URL#*\?}"
URL="${base%/*}/$DB$query"

cleanup() { psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; }
trap cleanup EXIT

go build -o bin/hdi ./cmd/hdi
psql -q "$ADMIN_URL" -c "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL=$URL
./bin/hdi migrate up >/dev/null 2>&1

echo "generating 10.5M ohlcv_1m rows..." >&2
psql -q "$URL" <<'SQL' >/dev/null
SET synchronous_commit = off;
INSERT INTO ohlcv_1m (dataset, ts, ts_event, rtype, publisher_id, instrument_id, open, high, low, close, volume)
SELECT 'BENCH.DS', t, (extract(epoch FROM t) * 1000000000)::bigint, 33, 1, i,
       4700000000000 + m * 250000000, 4700500000000 + m * 250000000,
       4699500000000 + m * 250000000, 4700250000000 + m * 250000000, 10 + m % 100
FROM generate_series(1, 20) AS i,
     generate_series('2024-01-01'::timestamptz, '2024-12-30 23:59:00+00', '1 minute') WITH ORDINALITY AS g(t, m);
INSERT INTO symbol_mappings (dataset, stype_in, stype_in_symbol, stype_out, stype_out_symbol, start_date, end_date, source)
SELECT 'BENCH.DS', 'continuous', 'BENCH.c.0', 'instrument_id', (k + 1)::text,
       '2024-01-01'::date + 30 * k, '2024-01-01'::date + 30 * (k + 1), 'bench'
FROM generate_series(0, 12) k;
INSERT INTO symbol_mappings (dataset, stype_in, stype_in_symbol, stype_out, stype_out_symbol, start_date, end_date, source)
SELECT 'BENCH.DS', 'raw_symbol', 'BENCH' || i, 'instrument_id', i::text, '2024-01-01', '2025-01-01', 'bench'
FROM generate_series(1, 20) i;
ANALYZE;
SQL
rows=$(psql -Atq "$URL" -c "SELECT count(*) FROM ohlcv_1m")
echo "ohlcv_1m rows: $rows" >&2

START=2024-02-26 END=2024-03-03 # 7 days (end included), across the roll of 2024-03-01
# The SQL of SymbolBars1m with the values in place, as psql runs it.
SQL=$(awk '/^-- name: SymbolBars1m /{on=1; next} on && /^-- name:/{exit} on' sql/queries/bars.sql |
  awk 'BEGIN{p=1} /^$/{exit} {print}' |
  sed -e "s/@symbols::text\[\]/'{BENCH.c.0}'::text[]/g" \
      -e "s/@start_ts::timestamptz/'${START}T00:00:00Z'::timestamptz/g" \
      -e "s/@end_ts::timestamptz/'2024-03-04T00:00:00Z'::timestamptz/g" \
      -e "s/@dataset::text/'BENCH.DS'::text/g" \
      -e "s/sqlc.narg(row_limit)::bigint/NULL::bigint/g")

n_hdi=$(./bin/hdi query bars -s BENCH.c.0 --dataset BENCH.DS --interval 1m --start $START --end $END --format csv | wc -l)
n_psql=$(psql -X -q --csv "$URL" -c "$SQL" | wc -l)
echo "result rows (with header): hdi $n_hdi, psql $n_psql" >&2
[ "$n_hdi" = "$n_psql" ] || { echo "row counts differ" >&2; exit 1; }

time_ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
hdi_t=(); psql_t=()
for _ in $(seq "$RUNS"); do
  hdi_t+=("$(time_ms ./bin/hdi query bars -s BENCH.c.0 --dataset BENCH.DS --interval 1m --start $START --end $END --format csv)")
  psql_t+=("$(time_ms psql -X -q --csv "$URL" -c "$SQL")")
done
h=$(printf '%s\n' "${hdi_t[@]}" | median)
p=$(printf '%s\n' "${psql_t[@]}" | median)
echo "hdi query bars: median ${h} ms over $RUNS runs (${hdi_t[*]})"
echo "psql same SQL:  median ${p} ms over $RUNS runs (${psql_t[*]})"
awk -v h="$h" -v p="$p" 'BEGIN{printf "ratio hdi/psql: %.2f\n", h/p}'
