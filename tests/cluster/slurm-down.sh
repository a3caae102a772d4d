#!/usr/bin/env bash
# Stop the test cluster started by slurm-up.sh: cancel jobs, then stop the daemons by their PIDs.
set -u
scancel --user=root 2>/dev/null
for pidfile in /run/slurmd.pid /run/slurmctld.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
done
for _ in $(seq 20); do
    pgrep -x slurmd >/dev/null || pgrep -x slurmctld >/dev/null || break
    sleep 0.5
done
pkill -x munged 2>/dev/null
for _ in $(seq 20); do pgrep -x munged >/dev/null || break; sleep 0.5; done
echo "SLURM down"
