# Shell functions deploy/local/up and deploy/local/down share; sourced, with local_dir set.

# alive PIDFILE MARK: the process PIDFILE names runs and is ours (its command line holds MARK):
# after a reboot or a crash the pid may belong to another process by now.
alive() {
    local pid
    pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# worker_setting KEY DEFAULT: a [worker] setting of the stack's config, else the
# environment's override, else DEFAULT.
worker_setting() {
    local env_name="JOBFLEET_WORKER_${1^^}" v
    v=$(awk -v key="$1" -F= '/^\[/ { in_worker = ($0 ~ /^\[worker\]/) }
        in_worker { k = $1; gsub(/[ \t]/, "", k); if (k == key) { v = $2; gsub(/[ \t]/, "", v); print v } }' \
        "$local_dir/jobfleet.conf" 2>/dev/null | tail -n 1)
    v=${!env_name:-$v}
    [[ "$v" =~ ^[0-9]+$ ]] && echo "$v" || echo "$2"
}

# stop_process NAME MARK: SIGTERM to the process of run/NAME.pid when it is ours, waiting for
# it to exit; SIGKILL (said) past the wait. The worker drains: its running jobs may take
# drain_timeout_s and kill_grace_s more (README's stop timeout); killed before, a job would
# end "worker lost" and run again. Removes the pid file.
stop_process() {
    local name=$1 pidf="$local_dir/run/$1.pid" wait_s=30 pid
    if alive "$pidf" "$2"; then
        pid=$(cat "$pidf")
        [ "$name" = worker ] &&
            wait_s=$(( $(worker_setting drain_timeout_s 60) + $(worker_setting kill_grace_s 5) + 20 ))
        kill -TERM "$pid"
        for i in $(seq 1 $((wait_s * 10))); do
            kill -0 "$pid" 2>/dev/null || break
            [ "$name" = worker ] && [ "$i" = 30 ] &&
                echo "the worker is draining its running jobs: waiting up to ${wait_s} s"
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid"
            echo "killed $name: it had not stopped ${wait_s} s after SIGTERM"
        else
            echo "stopped $name"
        fi
    fi
    rm -f "$pidf"
}
