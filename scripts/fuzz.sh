#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs every cargo-fuzz target of drivers/proto for a bounded time and
# reports executions per target. Exits non-zero if any target crashed.
#
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_TARGETS   space-separated subset of targets (default: all)
#   FUZZ_JOBS      cargo build jobs (default 1; the machine has 2 cores)
#
# Only stable rustc is available, so cargo-fuzz's nightly flags are
# enabled with RUSTC_BOOTSTRAP=1.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz_dir="$here/drivers/proto/fuzz"
seconds="${FUZZ_SECONDS:-60}"
export RUSTC_BOOTSTRAP=1
export CARGO_BUILD_JOBS="${FUZZ_JOBS:-1}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked || exit 2
fi

cd "$fuzz_dir" || exit 2
targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
cargo fuzz build || exit 2

logdir="$(mktemp -d)"
status=0
printf '%-16s %14s %8s %s\n' target executions seconds result
for t in $targets; do
    mkdir -p "corpus/$t"
    log="$logdir/$t.log"
    start=$(date +%s)
    cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    elapsed=$(( $(date +%s) - start ))
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    if [ -z "$execs" ]; then
        execs=$(grep -Eo '^#[0-9]+[[:space:]]+DONE' "$log" | grep -Eo '[0-9]+' | tail -1)
    fi
    result=ok
    if [ $rc -ne 0 ] || grep -qE 'ERROR: libFuzzer|panicked at|SUMMARY: .*Sanitizer' "$log"; then
        result="CRASH (log: $log)"
        status=1
        grep -E 'panicked at|ERROR:|Test unit written to' "$log" | head -5 >&2
    fi
    printf '%-16s %14s %8s %s\n' "$t" "${execs:-?}" "$elapsed" "$result"
done
[ $status -eq 0 ] && rm -rf "$logdir"
exit $status
