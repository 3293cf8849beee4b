#!/usr/bin/env bash
# Fails when regenerating the committed sqlc or protobuf code would change it.
set -euo pipefail
cd "$(dirname "$0")/.."
tool() { go tool -modfile=tools.mod "$@"; }

status=0
if ! go run ./internal/migrate/riverschema | cmp -s - sql/river/schema.sql; then
  echo "River's schema for sqlc is stale: run 'make generate' and commit sql/river/schema.sql" >&2
  status=1
fi
# The page's charting library is the npm package's file (make web-assets).
for f in dist/lightweight-charts.standalone.production.js:lightweight-charts.standalone.production.js LICENSE:lightweight-charts.LICENSE; do
  src=web/node_modules/lightweight-charts/${f%%:*}
  dst=internal/web/assets/vendor/${f##*:}
  if [ ! -f "$src" ]; then
    echo "web/node_modules is missing: run 'npm ci --prefix web' (make test does)" >&2
    status=1
  elif ! cmp -s "$src" "$dst"; then
    echo "$dst differs from the npm package: run 'make web-assets' and commit it" >&2
    status=1
  fi
done
if ! tool sqlc diff; then
  echo "sqlc output is stale: run 'make generate' and commit internal/dbq" >&2
  status=1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
OUT_DIR="$tmp" bash plugins/sdk/generate.sh
while IFS= read -r f; do
  rel=${f#"$tmp"/}
  if ! cmp -s "$f" "$rel"; then
    echo "protobuf output is stale: $rel differs; run 'make generate' and commit it" >&2
    status=1
  fi
done < <(find "$tmp" -type f)
exit $status
