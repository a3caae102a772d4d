#!/usr/bin/env bash
# Start a real single-node SLURM cluster on this machine (as root) for the cluster tests.
# Installs Debian's slurm-wlm + munge when missing, writes /etc/slurm/{slurm,gres}.conf, starts
# munged, slurmctld and slurmd, and waits until the node is idle. Stop it with slurm-down.sh.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "slurm-up.sh must run as root" >&2; exit 1; }
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q slurm-wlm munge >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q slurm-wlm munge >/dev/null; }
fi
node=$(hostname -s)
cpus=8  # advertised CPUs (config_overrides): room for the GPU profile's 4-CPU jobs on 2 cores
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 2048 ))

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge /var/log/munge
if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
pgrep -x munged >/dev/null || runuser -u munge -- munged
for _ in $(seq 20); do [ -S /run/munge/munge.socket.2 ] && break; sleep 0.5; done

# Two GPU GRES on stand-in device files: SLURM schedules `--gpus=1` requests on it, so GPU requests
# from the slurm-gpu profile provably reach the scheduler even on a machine without a GPU.
cat > /etc/slurm/gres.conf <<CONF
NodeName=$node Name=gpu File=/dev/null
NodeName=$node Name=gpu File=/dev/zero
CONF
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=smartmixed-test
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge=300
SchedulerParameters=sched_interval=1
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
GresTypes=gpu
NodeName=$node CPUs=$cpus RealMemory=$mem Gres=gpu:2 State=UNKNOWN
# The partitions the shipped profiles name, so they run here unedited.
PartitionName=main Nodes=$node Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$node MaxTime=INFINITE State=UP
CONF

pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd -N "$node"
for _ in $(seq 60); do
    state=$(sinfo -h -N -o "%T" 2>/dev/null | head -n1)
    case "$state" in idle|mixed|allocated) echo "SLURM up: node $node ($cpus CPUs, ${mem} MB, gpu:2)"; exit 0;; esac
    sleep 1
done
echo "SLURM did not come up; logs in /var/log/slurm" >&2
tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
