#!/usr/bin/env bash
# slurm-local.sh - a real single-node Slurm cluster on this machine, for testing
# `descent run --shard` / `descent merge` under SLURM job arrays (locally and in CI).
#
# Usage: scripts/slurm-local.sh up|down|status|env|selftest|purge
#
#   up        Install Debian's slurm-wlm and munge if missing, write a single-node
#             slurm.conf, start munged, slurmctld and slurmd as background daemons and
#             wait until the node is idle. Idempotent: daemons already running are kept.
#   down      Cancel remaining jobs and stop the daemons that `up` started (and only
#             those: each is identified by its pid file AND its command line, which
#             names this cluster's private files). Config and logs are kept.
#   status    Show the daemons, `sinfo` and `squeue`. Exit status 0 if up, 3 if not.
#   env       Print `export SLURM_CONF=...`, for `eval "$(scripts/slurm-local.sh env)"`.
#   wait ID...  Wait for each job (every task of an array) to finish, at most
#             SLURM_LOCAL_JOB_TIMEOUT seconds each; exit 1 unless all COMPLETED.
#   selftest  Bring the cluster up if needed, run a 2-task job array plus a job that
#             depends on it (afterok), check the results, print job ids and timings,
#             and stop the cluster again if this command started it.
#   purge     `down`, then delete the cluster directory.
#
# Everything lives under $SLURM_LOCAL_DIR (default /var/tmp/descent-slurm): config,
# munge key and socket, controller state, slurmd spool, pid files and logs. Munge runs
# on a private socket with a private key, so a system munged (if any) is not touched.
# While the cluster is up, /etc/slurm/slurm.conf is a symlink to the generated config
# (only if that path was free), so plain `sbatch`/`squeue` work without SLURM_CONF;
# `down` removes the symlink again.
#
# Environment:
#   SLURM_LOCAL_DIR          cluster directory           (default /var/tmp/descent-slurm)
#   SLURM_LOCAL_CTLD_PORT    slurmctld port              (default 6817)
#   SLURM_LOCAL_SLURMD_PORT  slurmd port                 (default 6818)
#   SLURM_LOCAL_UP_TIMEOUT   seconds to wait for an idle node    (default 60)
#   SLURM_LOCAL_JOB_TIMEOUT  seconds selftest/wait wait for a job (default 120)
#   SLURM_LOCAL_LINK_ETC     0 to never create /etc/slurm/slurm.conf (default 1)
#
# Design notes (Slurm 22.05 as shipped by Debian 12):
#   * No systemd is needed: the daemons are started directly and daemonize themselves;
#     their pid files are written into the cluster directory.
#   * No cgroups are needed: ProctrackType=proctrack/linuxproc, TaskPlugin=task/none and
#     JobAcctGatherType=jobacct_gather/none load no cgroup plugin, so no cgroup.conf.
#   * Everything runs as root (SlurmUser=root), which Slurm allows.
#   * No accounting database: AccountingStorageType=accounting_storage/none, so `sacct`
#     does not work; job state comes from `squeue` / `scontrol show job` (finished jobs
#     stay visible there for MinJobAge seconds).
#   * All traffic stays on the loopback interface (the controller and node are
#     addressed as 127.0.0.1).
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-/var/tmp/descent-slurm}
CTLD_PORT=${SLURM_LOCAL_CTLD_PORT:-6817}
SLURMD_PORT=${SLURM_LOCAL_SLURMD_PORT:-6818}
UP_TIMEOUT=${SLURM_LOCAL_UP_TIMEOUT:-60}
JOB_TIMEOUT=${SLURM_LOCAL_JOB_TIMEOUT:-120}
LINK_ETC=${SLURM_LOCAL_LINK_ETC:-1}

CONF=$DIR/etc/slurm.conf
RUN=$DIR/run
LOGS=$DIR/log
MUNGE_DIR=$DIR/munge
MUNGE_KEY=$MUNGE_DIR/munge.key
MUNGE_SOCKET=$MUNGE_DIR/munged.socket
ETC_CONF=/etc/slurm/slurm.conf

# Debian's packaged daemons (the /usr/sbin names are update-alternatives links to the
# *-wlm binaries).
MUNGED=/usr/sbin/munged
SLURMCTLD=/usr/sbin/slurmctld
SLURMD=/usr/sbin/slurmd

# Every Slurm command this script runs talks to this cluster.
export SLURM_CONF=$CONF

log() { printf '[slurm-local] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# Seconds since the epoch with millisecond precision, for timings.
now() { date +%s.%3N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

require_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts daemons as root)"
}

# ---------------------------------------------------------------------------------
# Daemon bookkeeping. A daemon is "ours" when its pid file (in $RUN) names a live
# process whose command line contains this cluster's marker: the munge socket path for
# munged, the config path for slurmctld/slurmd. This survives stale pid files (after a
# reboot or a killed CI run) and pid reuse, and never matches anybody else's daemons.
# ---------------------------------------------------------------------------------
pidfile_of() { printf '%s/%s.pid\n' "$RUN" "$1"; }

marker_of() {
    case $1 in
        munged) printf '%s\n' "$MUNGE_SOCKET" ;;
        *) printf '%s\n' "$CONF" ;;
    esac
}

# Prints the pid of our running daemon $1, or fails.
our_pid() {
    local name=$1 pidfile pid
    pidfile=$(pidfile_of "$name")
    [[ -s $pidfile ]] || return 1
    pid=$(tr -dc '0-9' <"$pidfile")
    [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(marker_of "$name")" || return 1
    printf '%s\n' "$pid"
}

is_running() { our_pid "$1" >/dev/null; }

# Waits up to $2 seconds for the command "${@:3}" to succeed; $1 names it for errors.
wait_for() {
    local what=$1 timeout=$2
    shift 2
    local deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || {
            log "timed out after ${timeout}s waiting for $what"
            return 1
        }
        sleep 0.5
    done
}

# Prints the tail of the logs of daemons "$@" (default: all), for failure diagnosis.
# (Errors about mpi/pmix failing to load are harmless: Slurm 22.05 probes every MPI
# plugin at startup, and the PMIx library is not installed.)
show_logs() {
    local name f
    (($# > 0)) || set -- munged slurmctld slurmd
    for name in "$@"; do
        for f in "$LOGS/$name.out" "$LOGS/$name.log"; do
            [[ -s $f ]] || continue
            printf '\n----- %s (last 40 lines) -----\n' "$f" >&2
            tail -n 40 "$f" >&2
        done
    done
}

# ---------------------------------------------------------------------------------
# Installation and configuration
# ---------------------------------------------------------------------------------
install_packages() {
    local bin missing=0
    for bin in "$MUNGED" /usr/sbin/mungekey /usr/bin/munge "$SLURMCTLD" "$SLURMD" \
        /usr/bin/sbatch /usr/bin/squeue /usr/bin/sinfo /usr/bin/scontrol; do
        [[ -x $bin ]] || missing=1
    done
    ((missing)) || return 0

    log "installing slurm-wlm and munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -q -o DPkg::Lock::Timeout=120)
    # Only refresh the package lists when they do not know the packages yet.
    if ! apt-cache show slurm-wlm munge >/dev/null 2>&1; then
        "${apt[@]}" update
    fi
    # Recommends would pull in ~35 extra plugin and -dev packages that are not needed.
    # A failure with existing lists usually means they are stale: refresh and retry once.
    if ! "${apt[@]}" install -y --no-install-recommends slurm-wlm munge; then
        "${apt[@]}" update
        "${apt[@]}" install -y --no-install-recommends slurm-wlm munge
    fi
    for bin in "$MUNGED" "$SLURMCTLD" "$SLURMD" /usr/bin/sbatch; do
        [[ -x $bin ]] || die "$bin is still missing after installing slurm-wlm and munge"
    done
}

make_dirs() {
    # munged refuses group- or world-writable directories on its paths, and wants the
    # socket's directory searchable by everyone (0755); the key itself is 0400.
    install -d -m 0755 "$DIR" "$DIR/etc" "$RUN" "$LOGS" "$DIR/state" "$DIR/spool" "$MUNGE_DIR"
    if [[ ! -s $MUNGE_KEY ]]; then
        log "creating munge key $MUNGE_KEY"
        mungekey --create --keyfile="$MUNGE_KEY"
    fi
    chmod 0400 "$MUNGE_KEY"
}

# Writes $CONF for this machine. The node's name, CPU count and memory are read from
# `slurmd -C` (what slurmd itself will report when it registers, so they always match),
# falling back to hostname/nproc/meminfo.
write_config() {
    local host cpus mem detected
    host=$(hostname -s)
    detected=$("$SLURMD" -C 2>/dev/null | head -n 1 || true)
    cpus=$(sed -n 's/.*[[:space:]]CPUs=\([0-9]\+\).*/\1/p' <<<"$detected")
    mem=$(sed -n 's/.*RealMemory=\([0-9]\+\).*/\1/p' <<<"$detected")
    [[ -n $cpus ]] || cpus=$(nproc)
    [[ -n $mem ]] || mem=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)

    local tmp=$CONF.tmp
    cat >"$tmp" <<EOF
# Single-node Slurm cluster for testing descent; generated by scripts/slurm-local.sh.
# Rewritten by every 'up': edit the script, not this file.
ClusterName=descent
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root

# Authentication through a private munged (own key and socket).
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET

# State, spool, pid files and logs, all under $DIR.
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info

# No cgroups, no accounting, no MPI: works in containers and VMs without systemd.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
# No mail on this machine; the default /bin/mail is usually absent.
MailProg=/bin/true

# Scheduling: logical CPUs are the consumable resource, so N one-CPU array tasks run
# at once on N CPUs. Only CPUs= is given for the node (no sockets/cores/threads): with
# CR_CPU a full topology would stop two jobs from sharing a hyper-threaded core.
SchedulerType=sched/backfill
# Start batch jobs as soon as CPUs free up (the default defers them up to 3 s, which
# adds up over array tasks and dependency chains).
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# Reject jobs that can never run here (e.g. more CPUs or memory than the node has) at
# submission, instead of leaving them pending forever with Reason=PartitionConfig.
EnforcePartLimits=ALL
# A node that went DOWN (e.g. slurmd was stopped first) returns when slurmd registers.
ReturnToService=2
# Finished jobs stay visible to squeue/scontrol for this many seconds.
MinJobAge=300

NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$tmp" "$CONF"
}

# Points /etc/slurm/slurm.conf at our config when that path is free (or already ours).
link_etc_conf() {
    ((LINK_ETC)) || return 0
    if [[ -L $ETC_CONF && $(readlink "$ETC_CONF") == "$CONF" ]]; then
        return 0
    fi
    if [[ -e $ETC_CONF || -L $ETC_CONF ]]; then
        log "note: $ETC_CONF exists and is not ours; use: export SLURM_CONF=$CONF"
        return 0
    fi
    mkdir -p "$(dirname "$ETC_CONF")"
    ln -s "$CONF" "$ETC_CONF"
}

unlink_etc_conf() {
    if [[ -L $ETC_CONF && $(readlink "$ETC_CONF") == "$CONF" ]]; then
        rm -f "$ETC_CONF"
    fi
}

# ---------------------------------------------------------------------------------
# Daemons
# ---------------------------------------------------------------------------------
STARTED_NOW=() # daemons started by this invocation, stopped again if `up` fails

munge_works() { munge -n -S "$MUNGE_SOCKET" | unmunge -S "$MUNGE_SOCKET"; }
ctld_responds() { scontrol ping | grep -q 'is UP'; }
node_idle() {
    local state
    state=$(sinfo -h -N -n "$(hostname -s)" -o '%T' 2>/dev/null | head -n 1)
    [[ $state == idle || $state == mixed || $state == allocated ]]
}

# True if some process runs daemon $1 with this cluster's marker on its command line
# (used only to notice a daemon that died before writing its pid file).
marked_process_exists() {
    local name=$1 marker cmdline f
    marker=$(marker_of "$name")
    for f in /proc/[0-9]*/cmdline; do
        cmdline=$(tr '\0' ' ' <"$f" 2>/dev/null) || continue
        [[ $cmdline == *"$name"* && $cmdline == *"$marker"* ]] && return 0
    done
    return 1
}

# True once our daemon $1 is running, or once it has visibly failed: it logged a fatal
# error, or no process of it is left.
started_or_failed() {
    is_running "$1" || grep -qs 'fatal:' "$LOGS/$1.log" || ! marked_process_exists "$1"
}

# Starts daemon $1 with the command "${@:2}" unless ours is already running, then
# waits for its pid file. Startup output goes to $LOGS/$1.out; the previous run's
# logs are kept as *.1 so that a failure shows only this run's messages.
start_daemon() {
    local name=$1 f
    shift
    if is_running "$name"; then
        log "$name already running (pid $(our_pid "$name"))"
        return 0
    fi
    rm -f "$(pidfile_of "$name")"
    for f in "$LOGS/$name.log" "$LOGS/$name.out"; do
        if [[ -e $f ]]; then mv -f "$f" "$f.1"; fi
    done
    log "starting $name"
    # The daemons fork into the background themselves; this returns once they have.
    if ! "$@" </dev/null >"$LOGS/$name.out" 2>&1; then
        show_logs "$name"
        die "$name failed to start (see logs above)"
    fi
    STARTED_NOW+=("$name")
    wait_for "$name to write its pid file" 15 started_or_failed "$name" || true
    if ! is_running "$name"; then
        show_logs "$name"
        die "$name did not stay up (see logs above)"
    fi
}

# On a failed `up`, stop what this invocation started so nothing is left behind.
cleanup_failed_up() {
    local rc=$?
    if ((rc != 0 && ${#STARTED_NOW[@]} > 0)); then
        log "up failed; stopping the daemons it started: ${STARTED_NOW[*]}"
        local name
        for name in slurmd slurmctld munged; do
            [[ " ${STARTED_NOW[*]} " == *" $name "* ]] && stop_daemon "$name"
        done
        unlink_etc_conf
    fi
    return "$rc"
}

cmd_up() {
    require_root
    local t0
    t0=$(now)
    install_packages
    make_dirs
    # Rewriting the config under a running controller would not take effect; only
    # regenerate it when no slurm daemon of ours is running.
    if ! is_running slurmctld && ! is_running slurmd; then
        write_config
    fi
    link_etc_conf
    trap cleanup_failed_up EXIT

    start_daemon munged "$MUNGED" --socket="$MUNGE_SOCKET" --key-file="$MUNGE_KEY" \
        --pid-file="$(pidfile_of munged)" --log-file="$LOGS/munged.log" \
        --seed-file="$MUNGE_DIR/munged.seed"
    wait_for "munged to answer" 15 munge_works || {
        show_logs munged
        die "munged is not answering on $MUNGE_SOCKET"
    }

    # -c: start from a clean controller state (no jobs or node states from a previous
    # run; job ids still keep counting up across runs).
    start_daemon slurmctld "$SLURMCTLD" -f "$CONF" -c
    wait_for "slurmctld to answer" 30 ctld_responds || {
        show_logs slurmctld
        die "slurmctld is not answering"
    }

    start_daemon slurmd "$SLURMD" -f "$CONF"
    if ! wait_for "node $(hostname -s) to be idle" "$UP_TIMEOUT" node_idle; then
        sinfo -N -l >&2 || true
        scontrol show node >&2 || true
        show_logs
        die "the node did not become idle within ${UP_TIMEOUT}s"
    fi
    trap - EXIT
    log "cluster up in $(elapsed "$t0")s (SLURM_CONF=$CONF)"
    sinfo
}

# Stops our daemon $1: SIGTERM, then SIGKILL after 20 s.
stop_daemon() {
    local name=$1 pid deadline
    pid=$(our_pid "$name") || {
        rm -f "$(pidfile_of "$name")"
        return 0
    }
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 20))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name did not exit on SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
    fi
    rm -f "$(pidfile_of "$name")"
}

no_jobs_left() { [[ -z $(squeue -h -o '%i' 2>/dev/null) ]]; }

cmd_down() {
    require_root
    if is_running slurmctld; then
        # Cancel whatever is still queued or running, so no job step outlives slurmd.
        # %A is the array job id for array tasks, so one id cancels a whole array.
        local jobs
        jobs=$(squeue -h -o '%A' 2>/dev/null | sort -un | tr '\n' ' ' || true)
        if [[ -n ${jobs// /} ]]; then
            log "cancelling jobs: $jobs"
            # shellcheck disable=SC2086 # word splitting of the id list is intended
            scancel $jobs 2>/dev/null || true
            wait_for "cancelled jobs to finish" 30 no_jobs_left || true
        fi
    fi
    stop_daemon slurmd
    stop_daemon slurmctld
    stop_daemon munged
    unlink_etc_conf
    log "cluster down"
}

cmd_status() {
    local name pid up=1
    for name in munged slurmctld slurmd; do
        if pid=$(our_pid "$name"); then
            printf '%-10s running (pid %s)\n' "$name" "$pid"
        else
            printf '%-10s stopped\n' "$name"
            up=0
        fi
    done
    printf 'SLURM_CONF=%s\n' "$CONF"
    if is_running slurmctld && is_running munged; then
        echo
        sinfo || true
        echo
        squeue || true
    fi
    ((up)) || return 3
}

cmd_env() { printf 'export SLURM_CONF=%q\n' "$CONF"; }

cmd_purge() {
    cmd_down
    log "removing $DIR"
    rm -rf -- "$DIR"
}

# ---------------------------------------------------------------------------------
# Self-test: a job array plus a dependent job, as `descent run --shard` and
# `descent merge` will use them.
# ---------------------------------------------------------------------------------

# Prints the JobState of every record of job $1 (one per array task), space-separated.
job_states() {
    scontrol show job -o "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 | tr '\n' ' '
}

# Waits until every record of job $1 is finished; fails unless all COMPLETED.
wait_job() {
    local id=$1 deadline=$((SECONDS + JOB_TIMEOUT)) states reason
    while :; do
        states=$(job_states "$id")
        if [[ -n $states ]] && ! grep -qE 'PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUE|RESIZING' <<<"$states"; then
            break
        fi
        reason=$(squeue -h -j "$id" -o '%r' 2>/dev/null | sort -u | tr '\n' ' ')
        if [[ $reason == *DependencyNeverSatisfied* ]]; then
            log "job $id can never run: DependencyNeverSatisfied"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            log "timed out after ${JOB_TIMEOUT}s waiting for job $id (states: ${states:-unknown})"
            squeue >&2 || true
            return 1
        fi
        sleep 0.5
    done
    if grep -qvE '^(COMPLETED ?)+$' <<<"$states"; then
        log "job $id finished badly: $states"
        scontrol show job "$id" >&2 || true
        return 1
    fi
}

cmd_selftest() {
    require_root
    local t0 started=0 name
    t0=$(now)
    for name in munged slurmctld slurmd; do
        is_running "$name" || started=1
    done
    if ((started)); then
        cmd_up
        trap 'cmd_down' EXIT
    else
        log "cluster already up; it is left running afterwards"
    fi

    local work
    work=$(mktemp -d "${TMPDIR:-/tmp}/descent-slurm-selftest.XXXXXX")
    log "work dir: $work"

    local tsub array_id merge_id
    tsub=$(now)
    # --parsable prints "<jobid>" (or "<jobid>;<cluster>"): keep the id only. The
    # wrapped commands are single-quoted on purpose: they expand inside the job.
    # shellcheck disable=SC2016
    array_id=$(sbatch --parsable --array=0-1 --job-name=selftest-shard \
        --partition=debug --cpus-per-task=1 --time=00:05:00 --chdir="$work" \
        --output="$work/shard-%A_%a.out" \
        --wrap='echo "$SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_COUNT" > "shard-$SLURM_ARRAY_TASK_ID.txt"')
    array_id=${array_id%%;*}
    merge_id=$(sbatch --parsable --dependency="afterok:$array_id" --kill-on-invalid-dep=yes \
        --job-name=selftest-merge --partition=debug --time=00:05:00 --chdir="$work" \
        --output="$work/merge-%j.out" \
        --wrap='cat shard-*.txt > merged.txt')
    merge_id=${merge_id%%;*}
    log "submitted array job $array_id (tasks ${array_id}_0, ${array_id}_1) and merge job $merge_id (afterok:$array_id)"

    wait_job "$array_id" || die "array job $array_id failed"
    wait_job "$merge_id" || die "merge job $merge_id failed"
    local jobs_time
    jobs_time=$(elapsed "$tsub")

    local expected got
    expected=$'0 2\n1 2'
    got=$(cat "$work/merged.txt" 2>/dev/null || true)
    if [[ $got != "$expected" ]]; then
        log "merged.txt is wrong; expected:"$'\n'"$expected"$'\n'"got:"$'\n'"$got"
        ls -l "$work" >&2
        die "selftest failed"
    fi
    rm -rf -- "$work"
    echo "selftest: array job $array_id (tasks 0-1) -> merge job $merge_id: OK"
    echo "selftest: jobs took ${jobs_time}s from submission; selftest took $(elapsed "$t0")s in total"
}

cmd_wait() {
    (($# > 0)) || die "wait: give the job ids to wait for"
    local id
    for id in "$@"; do
        wait_job "$id" || die "job $id did not complete"
    done
}

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

main() {
    local cmd=${1:-}
    case $cmd in
        up) cmd_up ;;
        down) cmd_down ;;
        status) cmd_status ;;
        env) cmd_env ;;
        wait)
            shift
            cmd_wait "$@"
            ;;
        selftest) cmd_selftest ;;
        purge) cmd_purge ;;
        -h | --help | help) usage ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
}

main "$@"
