#!/usr/bin/env bash
# slurm-test.sh - descent on a real SLURM cluster, end to end.
#
# Usage: scripts/slurm-test.sh          (as root; `just slurm-test` runs it)
#
# Brings up the single-node cluster of scripts/slurm-local.sh (installing Debian's
# slurm-wlm and munge when missing) unless it is already up, writes a small experiment
# (6 runs), submits it with `descent slurm --tasks 2 --submit` (a 2-task job array running
# `descent run --shard auto`, and a merge job with --dependency=afterok on it), waits for
# both jobs, runs the same experiment locally with plain `descent run`, and checks that the
# merged runs.csv, curves.csv and summary.csv equal the local ones, timing columns aside.
# Then a halving search (9 trials, rungs at 1, 3 and 9 epochs) through `descent slurm
# --submit`: one 2-task array and one merge job per rung, each array after the merge of the
# rung before (afterok); its runs.csv, curves.csv, trials.csv and search/decisions.json must
# equal a local run's. Prints the job ids and timings. On exit, stops the cluster if this
# script started it.
#
# Environment:
#   DESCENT_BIN          the descent binary to use (default: `cargo build`, then
#                        $CARGO_TARGET_DIR/debug/descent or target/debug/descent)
#   SLURM_TEST_TIMEOUT   seconds to wait for each job (default 300)
#   SLURM_TEST_KEEP      1 to keep the work directory even when the test passes
#   SLURM_TEST_LOCK      lock file that serialises concurrent runs on one machine
#                        (default /var/tmp/descent-slurm-test.lock)
#   SLURM_LOCAL_*        passed on to scripts/slurm-local.sh (see there)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOCAL=$ROOT/scripts/slurm-local.sh
export SLURM_LOCAL_JOB_TIMEOUT=${SLURM_TEST_TIMEOUT:-300}

log() { printf '[slurm-test] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
now() { date +%s.%3N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# await_jobs OUT WHAT ID...: waits for the jobs; if one fails, shows the tail of each job log
# under OUT/slurm and stops.
await_jobs() {
    local out=$1 what=$2 f
    shift 2
    "$LOCAL" wait "$@" && return 0
    for f in "$out"/slurm/*.out; do
        [[ -e $f ]] || continue
        printf '\n----- %s -----\n' "$f" >&2
        tail -n 30 "$f" >&2
    done
    die "$what did not complete"
}

T0=$(now)
[[ $(id -u) -eq 0 ]] || die "must run as root (scripts/slurm-local.sh installs and starts SLURM)"
command -v python3 >/dev/null || die "python3 is needed to compare the tables"

# One test at a time per machine: another one's `down` would stop the cluster under us.
LOCK=${SLURM_TEST_LOCK:-/var/tmp/descent-slurm-test.lock}
exec 9>"$LOCK"
flock -w 900 9 || die "another slurm-test has held $LOCK for 15 minutes"

# --- The descent binary -------------------------------------------------------------
if [[ -n ${DESCENT_BIN:-} ]]; then
    DESCENT=$DESCENT_BIN
else
    log "building descent (cargo build --bin descent)"
    (cd "$ROOT" && cargo build --quiet --bin descent)
    target=${CARGO_TARGET_DIR:-target}
    [[ $target == /* ]] || target=$ROOT/$target
    DESCENT=$target/debug/descent
fi
[[ -x $DESCENT ]] || die "no descent binary at $DESCENT"
DESCENT=$(cd "$(dirname "$DESCENT")" && pwd)/$(basename "$DESCENT")

# --- The cluster --------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/descent-slurm-test.XXXXXX")
STARTED=0
PASSED=0
cleanup() {
    local rc=$?
    if ((STARTED)); then
        "$LOCAL" down || rc=1
    fi
    if ((PASSED)) && [[ ${SLURM_TEST_KEEP:-0} != 1 ]]; then
        rm -rf -- "$WORK"
    else
        log "work directory kept: $WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT

if "$LOCAL" status >/dev/null 2>&1; then
    log "the local cluster is already up; it is left running"
else
    tup=$(now)
    STARTED=1
    "$LOCAL" up
    log "cluster started in $(elapsed "$tup")s"
fi
eval "$("$LOCAL" env)"

# --- The experiment -----------------------------------------------------------------
cd "$WORK"
cat >exp.toml <<'EOF'
# 3 batch sizes x 2 seeds = 6 runs on a small synthetic problem.
[experiment]
name = "slurm_test"
seeds = [0, 1]

[dataset]
name = "moons"
samples = 200
noise = 0.2

[model]
kind = "mlp"
hidden = [8]
activation = "tanh"

[optimizer]
learning_rate = 0.1

[training]
epochs = 10

[grid]
training.batch_size = [4, 32, "full"]
EOF
# An override, to check that the shards expand the same runs as a local run with it.
SETS=(--set training.epochs=6)

log "submitting with: descent slurm exp.toml ${SETS[*]} --tasks 2 --time 5 --submit"
tsub=$(now)
out=$("$DESCENT" slurm exp.toml "${SETS[@]}" --tasks 2 --time 5 --out "$WORK/cluster" --submit)
printf '%s\n' "$out"
ARRAY_ID=$(sed -n 's/^submitted array job \([0-9][0-9]*\).*/\1/p' <<<"$out")
MERGE_ID=$(sed -n 's/^submitted merge job \([0-9][0-9]*\).*/\1/p' <<<"$out")
[[ -n $ARRAY_ID && -n $MERGE_ID ]] || die "descent slurm --submit printed no job ids"

await_jobs "$WORK/cluster" "the jobs" "$ARRAY_ID" "$MERGE_ID"
JOBS_TIME=$(elapsed "$tsub")
for id in "$ARRAY_ID" "$MERGE_ID"; do
    # One record per array task: its id, state and run time.
    scontrol show job -o "$id" | while read -r record; do
        printf '  %s\n' "$(grep -oE '\b(JobId|ArrayJobId|ArrayTaskId|JobState|RunTime)=[^ ]*' <<<"$record" | paste -sd' ')"
    done
done
for f in runs.shard-0-of-2.jsonl runs.shard-1-of-2.jsonl runs.csv report.md; do
    [[ -s $WORK/cluster/$f ]] || die "the cluster run wrote no $f"
done

# --- The same experiment on this machine, and the comparison ------------------------
tlocal=$(now)
"$DESCENT" run exp.toml "${SETS[@]}" --out "$WORK/local" --quiet
log "local run took $(elapsed "$tlocal")s"

cat >compare.py <<'EOF'
import csv
import sys

local, cluster, names = sys.argv[1], sys.argv[2], sys.argv[3:]
# Columns that measure time: the only ones allowed to differ between machines.
timing = {"train_seconds", "samples_per_second", "eval_seconds", "seconds"}

def table(directory, name):
    with open(f"{directory}/{name}", newline="") as f:
        rows = list(csv.reader(f))
    keep = [i for i, c in enumerate(rows[0])
            if c not in timing and not any(c.startswith(t + "_") for t in timing)]
    return [[row[i] for i in keep] for row in rows]

failed = False
for name in names:
    if name.endswith(".json"):
        same = open(f"{local}/{name}").read() == open(f"{cluster}/{name}").read()
        print(f"slurm-test: {name}: {'equal to' if same else 'DIFFERS from'} the local run")
        failed |= not same
        continue
    a, b = table(local, name), table(cluster, name)
    if a == b:
        print(f"slurm-test: {name}: {len(a) - 1} rows equal to the local run (timing columns aside)")
    else:
        failed = True
        print(f"slurm-test: {name} DIFFERS from the local run", file=sys.stderr)
        for ra, rb in zip(a, b):
            if ra != rb:
                print(f"  local:   {ra}\n  cluster: {rb}", file=sys.stderr)
                break
        if len(a) != len(b):
            print(f"  {len(a) - 1} local rows, {len(b) - 1} cluster rows", file=sys.stderr)
sys.exit(1 if failed else 0)
EOF
python3 compare.py "$WORK/local" "$WORK/cluster" runs.csv curves.csv summary.csv

# --- A halving search, one job array and one merge job per rung ----------------------
cat >halving.toml <<'EOF'
# 9 sampled trials halved by 3 from 1 epoch: rungs at 1, 3 and 9 epochs, ranked on validation.
[experiment]
name = "slurm_halving"

[dataset]
name = "moons"
samples = 200
noise = 0.2
validation_fraction = 0.2

[model]
kind = "mlp"
hidden = [8]
activation = "tanh"

[training]
epochs = 9

[search]
kind = "halving"
trials = 9
min_epochs = 1
reduction_factor = 3

[search.space]
"optimizer.learning_rate" = { log_uniform = [1e-3, 1.0] }
"training.batch_size" = { int_log_uniform = [2, 64] }
EOF
log "submitting with: descent slurm halving.toml --tasks 2 --time 5 --submit"
thalving=$(now)
out=$("$DESCENT" slurm halving.toml --tasks 2 --time 5 --out "$WORK/cluster-halving" --submit)
printf '%s\n' "$out"
mapfile -t HALVING_IDS < <(sed -n 's/^submitted rung [0-9]*: array job \([0-9]*\).*merge job \([0-9]*\).*/\1\n\2/p' <<<"$out")
((${#HALVING_IDS[@]} == 6)) || die "descent slurm --submit printed ${#HALVING_IDS[@]} job ids, not 3 arrays and 3 merges"
await_jobs "$WORK/cluster-halving" "the halving search's jobs" "${HALVING_IDS[@]}"
HALVING_TIME=$(elapsed "$thalving")
"$DESCENT" run halving.toml --out "$WORK/local-halving" --quiet
python3 compare.py "$WORK/local-halving" "$WORK/cluster-halving" \
    runs.csv curves.csv trials.csv search/decisions.json

PASSED=1
echo "slurm-test: array job $ARRAY_ID (tasks ${ARRAY_ID}_0, ${ARRAY_ID}_1) -> merge job $MERGE_ID (afterok:$ARRAY_ID): COMPLETED"
echo "slurm-test: jobs took ${JOBS_TIME}s from submission to merged report"
echo "slurm-test: halving search: jobs ${HALVING_IDS[*]} (array, merge per rung) in ${HALVING_TIME}s; whole test $(elapsed "$T0")s"
