#!/usr/bin/env bash
# A throwaway single-node SLURM cluster on loopback, for `make test-slurm` (recipe and traps:
# shared/SLURM.md). Usage: cluster.sh start|stop DIR. `start` writes munge and slurm configs
# under DIR, starts munged, slurmctld and slurmd (one node, a fake GPU) and waits until the node
# is idle; `stop` cancels every job and stops each daemon by the PID it recorded. Clients need
# SLURM_CONF=DIR/slurm.conf and DIR/bin first on PATH (an srun that restores SLURM_CONF, which
# the job-step plugin deletes before calling srun).
set -euo pipefail

action=${1:?usage: cluster.sh start|stop DIR}
dir=${2:?usage: cluster.sh start|stop DIR}

start() {
    mkdir -p "$dir"/{munge,state,spool,log,run,bin}
    dir=$(cd "$dir" && pwd)
    chmod 755 "$dir" "$dir/munge"   # munge clients must reach the socket
    local socket="$dir/munge/munge.socket"
    mungekey --create --keyfile="$dir/munge/munge.key" --force
    munged --key-file="$dir/munge/munge.key" --socket="$socket" \
        --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/munge.seed" --force

    cat > "$dir/slurm.conf" <<CONF
ClusterName=sparsetest
SlurmctldHost=localhost(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=100
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=300
ReturnToService=2
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=2000 Gres=gpu:1
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
    cat > "$dir/gres.conf" <<CONF
AutoDetect=off
NodeName=localhost Name=gpu File=/dev/null
CONF
    cat > "$dir/bin/srun" <<WRAP
#!/bin/sh
export SLURM_CONF="$dir/slurm.conf"
exec /usr/bin/srun "\$@"
WRAP
    chmod 755 "$dir/bin/srun"

    export SLURM_CONF="$dir/slurm.conf"
    slurmctld -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF" -N localhost
    local state=""
    for _ in $(seq 1 60); do
        state=$(sinfo -h -o %T 2>/dev/null || true)
        [ "$state" = "idle" ] && { echo "slurm cluster idle (config $SLURM_CONF)"; return 0; }
        sleep 0.5
    done
    echo "slurm node did not become idle (state '$state'); logs in $dir/log" >&2
    return 1
}

stop() {
    [ -d "$dir" ] || return 0
    if [ -f "$dir/slurm.conf" ]; then
        SLURM_CONF="$dir/slurm.conf" scancel --quiet --full --user=root 2>/dev/null || true
    fi
    local name pid
    for name in slurmd slurmctld munged; do
        [ -f "$dir/run/$name.pid" ] || continue
        pid=$(cat "$dir/run/$name.pid")
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        echo "stopped $name (pid $pid)"
    done
}

case "$action" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: cluster.sh start|stop DIR" >&2; exit 2 ;;
esac
