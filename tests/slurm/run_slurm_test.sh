#!/bin/bash
# SPDX-License-Identifier: MIT
# `nst batch --slurm` against a real Slurm (issue #15): starts munged, slurmctld and slurmd on this
# machine with a private single-node configuration (temp dir: config, munge key and socket, state,
# logs; nothing under /etc is read or written), submits a 4-task array over an 8-job manifest,
# checks every record and output, resubmits and checks that all 8 are skipped, then stops the
# daemons it started, by their process ids.
#
#   run_slurm_test.sh NST WORKDIR
#
# Exit 0: passed; 1: failed; 77: skipped (the reason on stdout), when Slurm or munge is not
# installed (tools/install_test_deps.sh installs them), not root, or the daemons do not come up.
set -u
[ $# -eq 2 ] || { echo "usage: run_slurm_test.sh NST WORKDIR"; exit 1; }
NST=$(realpath -m "$1")
WORK=$(realpath -m "$2")
PY=${NST_TEST_PYTHON:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)

skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*"; [ -n "${T:-}" ] && for f in "$T"/slurmctld.log "$T"/slurmd.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done; exit 1; }

for tool in munged mungekey slurmctld slurmd sbatch squeue sinfo; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not found (Debian: apt-get install slurm-wlm munge; tools/install_test_deps.sh)"
done
[ "$(id -u)" = 0 ] || skip "needs root to run slurmd (SlurmdUser=root) in this single-node setup"
command -v "$PY" >/dev/null 2>&1 || skip "$PY not found (the checks use its standard library)"
[ -x "$NST" ] || fail "nst executable '$NST' not found"

# Daemon state lives in a short /tmp path (unix socket paths are limited to 108 bytes).
T=$(mktemp -d "${TMPDIR:-/tmp}/nst-slurm.XXXXXX") || fail "mktemp"
chmod 711 "$T"  # munged wants its socket's directory searchable by all
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- munge: a key and a socket of our own
mungekey --create --keyfile="$T/munge.key" >/dev/null 2>&1 || skip "mungekey cannot create a key"
munged --foreground --force --key-file="$T/munge.key" --socket="$T/munge.sock" --pid-file="$T/munged.pid" \
       --log-file="$T/munged.log" --seed-file="$T/munged.seed" >"$T/munged.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$T/munge.sock" ] && break; sleep 0.1; done
[ -S "$T/munge.sock" ] || skip "munged did not start: $(tail -n 1 "$T/munged.out")"

# --- slurm: two free ports, a private configuration
read -r CTLD_PORT SLURMD_PORT < <("$PY" - <<'PY'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
PY
)
mkdir -p "$T/ctld" "$T/spool"
cat >"$T/slurm.conf" <<CONF
ClusterName=nsttest
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge.sock
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
StateSaveLocation=$T/ctld
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=2000 State=UNKNOWN
PartitionName=nsttest Nodes=localhost Default=YES MaxTime=10 State=UP
CONF
export SLURM_CONF="$T/slurm.conf"  # the daemons and sbatch/squeue/sinfo all read it
slurmctld -D -f "$SLURM_CONF" >"$T/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" >"$T/slurmd.out" 2>&1 &
PIDS+=($!)
state=""
for _ in $(seq 100); do
    state=$(sinfo -h -o %t 2>/dev/null)
    [ "$state" = idle ] && break
    sleep 0.2
done
[ "$state" = idle ] || skip "the Slurm node did not come up (state '$state'): $(tail -n 2 "$T/slurmctld.log" "$T/slurmd.log" 2>/dev/null | tr '\n' ' ')"

# --- the manifest: 8 jobs over generated images, random weights, 2 iterations
rm -rf "$WORK"
mkdir -p "$WORK/out" || fail "cannot create $WORK"
"$PY" "$HERE/make_manifest.py" "$WORK" || fail "make_manifest.py"
export OMP_NUM_THREADS=1  # the tasks share 2 cores

# Submits the array from WORK and waits for it: every task's record file complete (8 lines in
# all, `expected` being the number of lines before) and the queue empty.
submit_and_wait() {
    local expected=$1 id
    id=$(cd "$WORK" && "$NST" batch jobs.jsonl --slurm --slurm-tasks 4 --slurm-time 5 --slurm-partition nsttest \
             --slurm-cpus-per-task 1 --quiet) || fail "nst batch --slurm did not submit"
    [[ "$id" =~ ^[0-9]+$ ]] || fail "nst batch --slurm printed '$id', not a job id"
    for _ in $(seq 200); do
        if [ -z "$(squeue -h -j "$id" 2>/dev/null)" ] && [ "$(cat "$WORK"/jobs.records.*.jsonl 2>/dev/null | wc -l)" -ge "$expected" ]; then
            return 0
        fi
        sleep 0.2
    done
    fail "array job $id did not finish within 40 s; logs: $(cat "$WORK"/jobs.slurm.*.out 2>/dev/null | tail -n 5)"
}

submit_and_wait 8
"$PY" "$HERE/check_records.py" "$WORK" ok || fail "first submission's records"
submit_and_wait 16
"$PY" "$HERE/check_records.py" "$WORK" skipped || fail "resubmission's records"
echo "PASSED: 8 jobs over 4 array tasks ok, then all 8 skipped on resubmission"
