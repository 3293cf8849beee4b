#!/usr/bin/env bash
# Runs every fuzz target in the module for a short, bounded time ($1, e.g. 10s).
#
# Go 1.26's fuzz coordinator can fail a run with a bare "context deadline
# exceeded" when -fuzztime ends while a worker is mid-call on a busy machine
# (go.dev/issue/75804, fixed in Go 1.27). That is no finding: a real one
# writes its failing input under testdata/fuzz/ and says so. So a failure
# counts when it wrote an input, or said anything but that deadline.
#
# Targets that load into a real PostgreSQL (HDI_TEST_DATABASE_URL, or a
# throwaway cluster, as the tests) run ~100 inputs a second, not thousands:
# they are listed in slow, and minimize a new input for 50 runs rather
# than Go's default 60 seconds, which would eat their whole budget.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10s}
slow=" FuzzCSVRecordsLoadOrQuarantine "
inputs() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }
found=0
failed=0
while IFS= read -r pkg; do
  dir=${pkg#github.com/hdi-dev/hdi}
  dir=.${dir:-}
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    found=1
    echo "fuzz $pkg $target for $fuzztime"
    before=$(inputs "$dir/testdata/fuzz/$target")
    minimize=()
    [[ $slow == *" $target "* ]] && minimize=(-fuzzminimizetime 50x)
    if out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "${minimize[@]}" "$pkg" 2>&1); then
      echo "$out" | tail -n 2
      continue
    fi
    echo "$out"
    after=$(inputs "$dir/testdata/fuzz/$target")
    if [ "$after" -eq "$before" ] && ! grep -q "Failing input written" <<<"$out" &&
      grep -q "^    context deadline exceeded$" <<<"$out" && [ "$(grep -c -e '^--- FAIL' <<<"$out")" -eq 1 ]; then
      echo "fuzz $target: the Go 1.26 coordinator's shutdown race (go.dev/issue/75804), no failing input: not a finding"
      continue
    fi
    failed=1
  done
done < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u | sed 's|^\.|github.com/hdi-dev/hdi|')
[ "$found" = 1 ] || { echo "no fuzz targets found" >&2; exit 1; }
exit $failed
