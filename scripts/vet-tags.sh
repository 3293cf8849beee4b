#!/usr/bin/env bash
# Vets the code behind every build constraint in use, so files that only
# build with a tag (the slow fault cases: -tags faults) or on another system
# (!linux) are compiled and checked by `make lint` too. The tags are read
# from the //go:build lines, not listed by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
lines=$(git ls-files '*.go' | xargs grep -h '^//go:build' | sed 's#^//go:build##')
words=$(echo "$lines" | tr -c 'A-Za-z0-9_\n' ' ' | tr ' ' '\n' | grep -v '^$' | sort -u)
oses=" linux darwin windows freebsd openbsd netbsd "
for w in $words; do
  if [[ "$oses" == *" $w "* ]]; then
    [ "$w" = linux ] && continue
    echo "vet: GOOS=$w"
    GOOS=$w $GO vet ./internal/pluginhost/... ./plugins/...
  else
    echo "vet: -tags $w"
    $GO vet -tags "$w" ./...
    $GO tool -modfile=tools.mod staticcheck -tags "$w" ./...
  fi
done
# Any other system, for the files constrained by negation (!linux).
if echo "$lines" | grep -q '!linux'; then
  echo "vet: GOOS=darwin"
  GOOS=darwin $GO vet ./internal/pluginhost/... ./plugins/...
fi
