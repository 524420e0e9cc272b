# Shared by scripts/slurm-up and scripts/slurm-down: where the test cluster lives and how to
# tell whether one of its daemons is alive. Source it after scripts/lib/common.sh.

ASTRAN_SLURM_PREFIX="${ASTRAN_SLURM_PREFIX:-/var/lib/astran-slurm}"
SLURM_PREFIX="$ASTRAN_SLURM_PREFIX"
SLURM_RUN="$SLURM_PREFIX/run"
SLURM_ETC="$SLURM_PREFIX/etc"
SLURM_LOG="$SLURM_PREFIX/log"
SLURM_DB_PORT="${ASTRAN_SLURM_DB_PORT:-3307}"
SLURM_DB_SOCKET="$SLURM_RUN/mariadbd.sock"
# The daemons, in start order; slurm-down stops them in reverse order.
SLURM_DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)
# Clients (sbatch, squeue, ...) read this file; /etc/slurm/slurm.conf links to it.
export SLURM_CONF="$SLURM_ETC/slurm.conf"

# pid_alive PID: true when PID is a running process (a zombie does not count: dead daemons
# linger as zombies here and `kill -0` still succeeds on them).
pid_alive() {
    local pid="$1" state
    [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
    # The state is the field after the ")" that closes the command name.
    state="$(sed -e 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f1)"
    [ "$state" != "Z" ] && [ "$state" != "X" ]
}

# daemon_pid NAME: the pid recorded for NAME in its pid file, or nothing.
daemon_pid() {
    local file="$SLURM_RUN/$1.pid"
    [ -s "$file" ] && tr -dc '0-9' < "$file"
}

# daemon_up NAME: true when NAME's pid file names a live process.
daemon_up() {
    pid_alive "$(daemon_pid "$1")"
}

# stop_daemon NAME: TERM the process in NAME's pid file, wait up to 30 s, then KILL it.
stop_daemon() {
    local name="$1" pid i
    pid="$(daemon_pid "$name")"
    if ! pid_alive "$pid"; then
        rm -f "$SLURM_RUN/$name.pid"
        return 0
    fi
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        pid_alive "$pid" || break
        sleep 0.1
    done
    if pid_alive "$pid"; then
        say "$name did not stop within 30 s: killing it"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$SLURM_RUN/$name.pid"
}
