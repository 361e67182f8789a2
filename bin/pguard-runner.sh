#!/bin/sh
# pguard runner: stays beside one managed process (about 1 MB resident under dash), records how
# every run ended, and restarts a premature death at once when pguard has armed it to.
#
# Started by `pguard start` in a new session (setsid), stdin /dev/null, stdout and stderr appended
# to the process log. Environment (set by src/effects/spawn.ts):
#   PGUARD_PROC_DIR   private folder of this process: runs.log, arm, stop, runner.log
#   PGUARD_COMMAND    the user's command, run through /bin/sh -c
#   PGUARD_EPOCH      this runner's generation; runs are numbered EPOCH.1, EPOCH.2, ...
#   PGUARD_DELAY_MS   wait before the first run (a restart that healthcheck scheduled)
#   PGUARD_NODE, PGUARD_CLI, PGUARD_REGISTRY, PGUARD_NAME, PGUARD_RUNNER_STATE_DIR: how to call
#   `pguard on-exit` (the user's process keeps PGUARD_NAME and PGUARD_REGISTRY, not the others)
#
# runs.log lines, one printf each (O_APPEND, so concurrent lines never interleave):
#   start ID PID STARTTIME BOOTID STARTED_MS
#   exit  ID WAIT_STATUS ENDED_MS

now_ms() {
  t=$(date +%s%N 2>/dev/null)
  case $t in
    *N|'') t=$(date +%s)000 ;;
    *) t=${t%??????} ;;
  esac
  echo "$t"
}

if [ "$1" = child ]; then
  umask "$PGUARD_UMASK" # the user's own, not the runner's private one
  # Child mode: record our own identity, then exec the user's command. exec keeps the PID and the
  # OS start time, so what is recorded here is the identity of the user's process itself.
  if [ -r /proc/$$/stat ]; then
    read -r stat < /proc/$$/stat
    set -- ${stat##*) }
    starttime=${20}
    read -r boot < /proc/sys/kernel/random/boot_id
  else
    starttime=$(ps -o lstart= -p $$ | sed 's/^ *//; s/ *$//; s/  */_/g')
    boot=-
  fi
  printf 'start %s %s %s %s %s\n' "$PGUARD_RUN_ID" $$ "$starttime" "$boot" "$(now_ms)" >> "$PGUARD_PROC_DIR/runs.log"
  echo $$ > "$PGUARD_PROC_DIR/pid"
  cmd=$PGUARD_COMMAND
  unset PGUARD_COMMAND PGUARD_EPOCH PGUARD_DELAY_MS PGUARD_RUN_ID PGUARD_NODE PGUARD_CLI PGUARD_PROC_DIR PGUARD_UMASK PGUARD_RUNNER_STATE_DIR
  # Its own session and process group (setsid(1) does not fork: we are not a group leader), so
  # `pguard stop` can signal the user's whole group without touching this runner.
  if command -v setsid >/dev/null 2>&1; then
    exec setsid /bin/sh -c "$cmd"
  fi
  exec /bin/sh -c "$cmd"
fi

# Our own files are private; the user's process gets back the umask it was started with.
PGUARD_UMASK=$(umask)
export PGUARD_UMASK
umask 077

dir=$PGUARD_PROC_DIR
self=$0
seq=0
delay=${PGUARD_DELAY_MS:-0}

# Survive the signals of a group-wide stop long enough to record the exit. A trap with a command
# (not '') is reset to the default in children, so the user's process still gets them.
trap 'woken=1' TERM INT HUP

on_exit() {
  PGUARD_STATE_DIR=$PGUARD_RUNNER_STATE_DIR "$PGUARD_NODE" "$PGUARD_CLI" on-exit "$PGUARD_NAME" --registry "$PGUARD_REGISTRY" "$@" </dev/null 2>>"$dir/runner.log"
}

# Sleep for $1 ms in slices of at most a second, ending early when a stop is requested. `wait` on
# a background sleep returns as soon as a trapped signal arrives.
pause() {
  until_ms=$(( $(now_ms) + $1 ))
  while [ ! -e "$dir/stop" ]; do
    left=$(( until_ms - $(now_ms) ))
    [ "$left" -gt 0 ] || return 0
    [ "$left" -gt 1000 ] && left=1000
    sleep "$((left / 1000)).$(printf %03d $((left % 1000)))" &
    sp=$!
    wait $sp
    kill $sp 2>/dev/null
  done
}

while :; do
  [ "$delay" -gt 0 ] && pause "$delay"
  [ -e "$dir/stop" ] && exit 0
  seq=$((seq + 1))
  id=$PGUARD_EPOCH.$seq
  begin=$(now_ms)
  # In the foreground, not with &: a non-interactive shell starts background jobs with SIGINT and
  # SIGQUIT ignored, and the user's process must receive them.
  PGUARD_RUN_ID=$id /bin/sh "$self" child
  status=$?
  end=$(now_ms)
  printf 'exit %s %s %s\n' "$id" "$status" "$end" >> "$dir/runs.log"
  # What is left of the run's process group (children of a shell that was killed, say) belongs to
  # the dead instance: end it, so that a restart never leaves two instances side by side.
  if command -v setsid >/dev/null 2>&1 && read -r cpid < "$dir/pid" 2>/dev/null; then
    kill -s TERM -- "-$cpid" 2>/dev/null
  fi

  if [ -e "$dir/stop" ]; then
    on_exit --run "$id" >/dev/null
    exit 0
  fi

  # Fast path: the arm file says what pguard's policy allows at this exit. Taking it with mv is
  # atomic, so one arm buys at most one restart; `pguard on-exit` writes the next one.
  if mv "$dir/arm" "$dir/arm.taken" 2>/dev/null; then
    read -r normal stable unstable notbefore < "$dir/arm.taken"
    rm -f "$dir/arm.taken"
    ran=$((end - begin))
    restart=0
    if [ "$status" -eq 0 ] && [ "$normal" -gt 0 ] && [ "$ran" -ge "$normal" ]; then
      restart=0 # a normal completion: left alone
    elif [ "$stable" -ge 0 ] && [ "$ran" -ge "$stable" ]; then
      restart=1 # a stable run resets the budget: restart at once
    elif [ "$unstable" -eq 1 ] && [ "$end" -ge "$notbefore" ]; then
      restart=1 # within budget and past the cooldown
    fi
    if [ "$restart" -eq 1 ]; then
      # Record and alert in the background while the new instance starts.
      on_exit --run "$id" --restarted-at "$(now_ms)" >/dev/null &
      delay=0
      continue
    fi
  fi

  # Slow path: let pguard decide (restart after a cooldown, give up, or leave a completed run).
  decision=$(on_exit --run "$id")
  case $decision in
    restart\ *) delay=${decision#restart } ;;
    *) exit 0 ;;
  esac
done
