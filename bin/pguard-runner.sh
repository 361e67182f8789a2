#!/bin/sh
# pguard runner: stays beside one managed process (about 1.8 MB resident under dash), records how
# every run ended, and restarts a premature death at once when pguard has armed it to.
#
# Started by `pguard start` in a new session (setsid), stdin /dev/null, stdout and stderr appended
# to the process log; or by healthcheck or watch in adopt mode, beside a live run whose runner
# died alone, which it watches instead of starting one. Everything it shares with pguard's
# TypeScript (its environment, runs.log, the arm, the stop marker, the on-exit call and its
# instruction) is specified once, in src/effects/runner-protocol.ts; this script reads and writes
# exactly that.
#
# The restart path is kept free of forks that are not needed: every external command costs a
# millisecond or more, and PM2 (the killed program's own parent) restarts in about 6 ms here.

# The wall clock in ms (a fork of date, about a millisecond), which also anchors the kernel's clock.
now_ms() {
  now=$(date +%s%N 2>/dev/null)
  case $now in
    *N|'') now=$(date +%s)000 ;;
    *) now=${now%??????} ;;
  esac
  read_up
  [ -n "$up" ] && anchor_ms=$now anchor_up=$up
}

# The kernel's clock: centiseconds since boot in $up, with a builtin read of /proc/uptime ('' where
# there is none). Anchored to the wall clock by now_ms and by the arm, it times an exit without a
# fork (in 10 ms steps): the restart path's one clock read.
read_up() {
  up=
  { read -r up _ < "$uptime_file"; } 2>/dev/null || return 0
  up=${up%.*}${up#*.}
  up=${up#"${up%%[!0]*}"} # no leading zeros (they would read as octal)
  case $up in '') up=0 ;; *[!0-9]*) up= ;; esac
}

# The time in ms ($now) without a fork: the kernel's clock from its anchor, else the wall clock.
clock_ms() {
  read_up
  if [ -n "$up" ] && [ -n "$anchor_up" ]; then
    now=$((anchor_ms + (up - anchor_up) * 10))
  else
    now_ms
  fi
}

# The user's run, in a subshell (a fork, no exec of a new shell): record its own identity, then
# exec the command. exec keeps the PID and the OS start time, so what is recorded here is the
# identity of the user's process itself. /proc/self is the subshell, not the runner.
run_child() {
  if [ -r /proc/self/stat ]; then
    read -r stat < /proc/self/stat
    pid=${stat%% *}
    set -- ${stat##*) }
    starttime=${20}
  else
    pid=$(sh -c 'echo $PPID')
    starttime=$(ps -o lstart= -p "$pid" | sed 's/^ *//; s/ *$//; s/  */_/g')
  fi
  printf 'start %s %s %s %s %s\n' "$id" "$pid" "$starttime" "$boot" "$begin" >> "$dir/runs.log"
  echo "$pid" > "$dir/pid"
  # The runner was killed since it forked this run (its SIGKILL, or its whole session's): pguard,
  # seeing it dead and this start line not yet written, may be starting another runner, which
  # knows nothing of this run. So a run whose runner is gone never begins. (pguard reads runs.log
  # again after it finds a runner dead: a start line it missed is one whose runner it saw die.)
  # (/proc/self/status: PPid is its 6th or 7th line, a few dozen bytes for dash's `read`, which
  # reads one byte per system call, where the stat line is 300.)
  if [ -r /proc/self/status ]; then
    ppid=
    while read -r key val; do [ "$key" = PPid: ] && { ppid=$val; break; }; done < /proc/self/status
    [ -z "$ppid" ] || [ "$ppid" = "$$" ] || exit 0
  fi
  # A stop asked for since the loop looked: this run ends before it begins (status 0, recorded).
  [ -e "$dir/stop" ] && exit 0
  trap - TERM INT HUP
  # log_writer: stdout and stderr are the pipe to the writer; otherwise the log itself (fd 1, and
  # fd 9 for stderr).
  if [ -n "$log_file" ]; then
    exec 1>&8 2>&8 8>&- 9>&-
  else
    exec 2>&9 9>&-
  fi
  umask "$user_umask"
  cmd=$PGUARD_COMMAND
  # A simple command (one program and its arguments, nothing for the shell to do) is exec'd
  # directly, split on blanks (no quotes or glob characters can be in it), so the recorded PID is
  # the program's own (Debian's dash would fork it) and no shell starts in between. Anything with
  # shell syntax, an assignment or a builtin first word runs through /bin/sh -c as written.
  # `exec PROGRAM ARGS` (the usual way to keep a shell out of the way) is PROGRAM ARGS.
  simple=
  prog=$cmd
  case $cmd in 'exec '[!\ -]*) prog=${cmd#exec } ;; esac
  case $prog in
    *[\;\&\|\<\>\(\)\$\`\\\"\'\*\?\[\#\~\{\}]* | *"
"*) ;;
    *)
      case ${prog%% *} in
        '' | *=* | cd | export | source | . | set | unset | trap | ulimit | umask | alias | eval | exit | return | \
        shift | read | wait | if | while | until | for | case | ! | exec | readonly | local | getopts | hash | \
        type | command | break | continue | times | :) ;;
        *) simple=1 ;;
      esac
      ;;
  esac
  # `user` (PGUARD_RUN_AS: UID GID SETPRIV): the program runs as that user, through setpriv, which
  # sets the ids and the user's supplementary groups (initgroups) and execs it: the PID is still
  # the run's. Its log is already open (fd 1 and 2), and this runner, its files and the state
  # directory stay root's. The account's HOME, USER, LOGNAME, SHELL are the program's alone.
  set --
  if [ -n "${PGUARD_RUN_AS:-}" ]; then
    ra=${PGUARD_RUN_AS#* }
    set -- "${ra#* }" "--reuid=${PGUARD_RUN_AS%% *}" "--regid=${ra%% *}" --init-groups --
    [ -n "${PGUARD_RUN_AS_HOME+1}" ] && export HOME="$PGUARD_RUN_AS_HOME"
    [ -n "${PGUARD_RUN_AS_USER+1}" ] && export USER="$PGUARD_RUN_AS_USER"
    [ -n "${PGUARD_RUN_AS_LOGNAME+1}" ] && export LOGNAME="$PGUARD_RUN_AS_LOGNAME"
    [ -n "${PGUARD_RUN_AS_SHELL+1}" ] && export SHELL="$PGUARD_RUN_AS_SHELL"
  fi
  unset PGUARD_COMMAND PGUARD_EPOCH PGUARD_DELAY_MS PGUARD_KILL_TIMEOUT_MS PGUARD_NODE PGUARD_CLI PGUARD_PROC_DIR PGUARD_RUNNER_STATE_DIR PGUARD_UPTIME_FILE PGUARD_ADOPT PGUARD_RUN_AS PGUARD_RUN_AS_HOME PGUARD_RUN_AS_USER PGUARD_RUN_AS_LOGNAME PGUARD_RUN_AS_SHELL PGUARD_LOG_FILE PGUARD_LOG_MAX_BYTES PGUARD_LOG_KEEP
  # Its own session and process group (setsid(1) does not fork: we are not a group leader), so
  # `pguard stop` can signal the user's whole group without touching this runner.
  set -f
  if [ -n "$has_setsid" ]; then
    [ -n "$simple" ] && exec setsid "$@" $prog
    exec setsid "$@" /bin/sh -c "$cmd"
  fi
  [ -n "$simple" ] && exec "$@" $prog
  exec "$@" /bin/sh -c "$cmd"
}

on_exit() {
  PGUARD_STATE_DIR=$PGUARD_RUNNER_STATE_DIR "$PGUARD_NODE" "$PGUARD_CLI" on-exit "$PGUARD_NAME" --registry "$PGUARD_REGISTRY" "$@" </dev/null 2>>"$dir/runner.log" 8>&-
}

# Sleep for $1 ms in slices of at most a second, ending early when a stop is requested. `wait` on
# a background sleep returns as soon as a trapped signal arrives.
pause() {
  now_ms
  until_ms=$((now + $1))
  while [ ! -e "$dir/stop" ]; do
    now_ms
    left=$((until_ms - now))
    [ "$left" -gt 0 ] || return 0
    [ "$left" -gt 1000 ] && left=1000
    sleep "$((left / 1000)).$(printf %03d $((left % 1000)))" &
    sp=$!
    wait $sp
    kill $sp 2>/dev/null
  done
}

# Read the arm ($arm set when there is one; its fields in normal stable unstable notbefore final).
# Its second line is pguard's anchor of the kernel's clock, taken when it wrote the arm: newer than
# ours, it is taken (it also corrects a step of the wall clock since ours).
read_arm() {
  arm=
  arm_ms=
  arm_up=
  { read -r normal stable unstable notbefore final && arm=1 && read -r arm_ms arm_up; } 2>/dev/null < "$dir/arm"
  case $arm_ms.$arm_up in
    *[!0-9.]* | .* | *.) ;;
    *) [ -n "$anchor_up" ] && [ "$arm_up" -lt "$anchor_up" ] || { anchor_ms=$arm_ms; anchor_up=$arm_up; } ;;
  esac
}

# Is process $1 alive? A zombie is not (an init that does not reap, as in many containers, keeps
# them around). /proc where there is one; kill -0 elsewhere.
pid_alive() {
  if [ -d /proc/self ]; then
    { read -r pa_line < "/proc/$1/stat"; } 2>/dev/null || return 1
    case ${pa_line##*) } in Z* | X*) return 1 ;; esac
    return 0
  fi
  kill -s 0 "$1" 2>/dev/null
}

# Has group $1 a live (not zombie) member? None at all: one builtin kill says so. Else a member
# found last time that is still alive and in the group (a read of its stat); else one pass over
# /proc for them (cat and awk: dash reads a file a byte per system call, and a pass of its own over
# 10,000 processes took about a second, every 50 ms while a leftover ignored SIGTERM). kill -0
# alone where there is no /proc.
ga_members=
group_alive() {
  kill -s 0 -- "-$1" 2>/dev/null || return 1
  [ -d /proc/self ] || return 0
  for ga_pid in $ga_members; do
    { read -r ga_line < "/proc/$ga_pid/stat"; } 2>/dev/null || continue
    set -- "$1" ${ga_line##*) }
    case $2 in Z | X) continue ;; esac
    [ "$4" = "$1" ] && return 0
  done
  ga_group=$1
  ga_members=$(cat /proc/[0-9]*/stat 2>/dev/null | awk -v g="$ga_group" '{ s = $0; sub(/.*\) /, "", s); split(s, f, " "); if (f[3] == g && f[1] != "Z" && f[1] != "X") print $1 }' 2>/dev/null) || ga_members=
  [ -n "$ga_members" ] && return 0
  command -v awk >/dev/null 2>&1 && return 1
  # No awk: the pass in the shell.
  for ga_f in /proc/[0-9]*/stat; do
    { read -r ga_line < "$ga_f"; } 2>/dev/null || continue
    set -- ${ga_line##*) }
    [ "$3" = "$ga_group" ] || continue
    case $1 in Z | X) continue ;; esac
    return 0
  done
  return 1
}

# Adopt mode: is the adopted run (PID $1, start time $2, boot $3) still that process? Not when its
# PID is gone, a zombie or names another process (its start time differs), nor in another boot.
# A builtin read of /proc/PID/stat (dash reads it a byte per call: about 0.3 ms); kill -0 where
# there is none (the identity then unchecked).
adopted_alive() {
  aa_pid=$1
  aa_start=$2
  [ "$3" = "$boot" ] || return 1
  [ -d /proc/self ] || { kill -s 0 "$aa_pid" 2>/dev/null; return; }
  { read -r aa_line < "/proc/$aa_pid/stat"; } 2>/dev/null || return 1
  set -- ${aa_line##*) }
  case $1 in Z | X) return 1 ;; esac
  [ "${20}" = "$aa_start" ]
}

# Adopt mode: wait, starting nothing, until the adopted run ($1, start time $2, boot $3) is gone.
# This runner is not its parent, so nothing wakes it at that run's end: it looks every 250 ms.
# dash has no way to wait 250 ms without a fork (of sleep: a few ms of CPU each), so where bash is
# there, one bash does the whole wait: `read -t` on a pipe it holds both ends of times out without
# a fork, and its reads of /proc/PID/stat are builtins too. It fails (non-zero) only where it
# cannot wait so: then the loop of sleeps, which checks again first. It ends with this runner
# (when it is no longer its parent), as a sleep would.
wait_adopted() {
  if [ -d /proc/self ] && [ "$3" = "$boot" ] && command -v bash >/dev/null 2>&1; then
    bash -c '
      exec 3<> <(:) || exit 1
      while { read -r l < "/proc/$1/stat"; } 2>/dev/null; do
        f=(${l##*) })
        case ${f[0]} in Z | X) exit 0 ;; esac
        [ "${f[19]}" = "$2" ] || exit 0
        read -t 0.25 -u 3 _
        [ $? -gt 128 ] || exit 1
        read -r l < /proc/$$/stat && f=(${l##*) }) && [ "${f[1]}" = "$PPID" ] || exit 1
      done' pguard-adopt "$1" "$2" 2>/dev/null && return 0
  fi
  while adopted_alive "$1" "$2" "$3"; do sleep 0.25; done
}

# End what is left of a run's process group (children of a killed shell, say) before anything
# else runs: SIGTERM and SIGCONT to the group, SIGKILL after kill_timeout, and wait (at most 2 s
# more) until it has no live member, so that a new instance never starts beside an old one or its
# pid/lock files. $1: the group (its leader called setsid, so its PID is the group's), $2: the
# run's id. Only when anything was left: a `leftovers` line in runs.log, and reaped_at set. On the
# common path (an empty group) it costs one builtin kill.
reap_group() {
  kill -s 0 -- "-$1" 2>/dev/null || return 0 # the common path: the group is empty
  rg_group=$1
  rg_id=$2
  group_alive "$rg_group" || return 0 # zombies only: nothing to end
  kill -s TERM -- "-$rg_group" 2>/dev/null
  kill -s CONT -- "-$rg_group" 2>/dev/null
  now_ms
  rg_start=$now
  rg_limit=$kill_timeout_ms
  killed=0
  while group_alive "$rg_group"; do
    now_ms
    if [ $((now - rg_start)) -ge "$rg_limit" ]; then
      [ "$killed" = 1 ] && break # it survived SIGKILL (uninterruptible): stop waiting
      kill -s KILL -- "-$rg_group" 2>/dev/null
      killed=1
      rg_limit=$((now - rg_start + 2000))
    fi
    sleep 0.05
  done
  now_ms
  reaped_at=$now
  printf 'leftovers %s %s %s\n' "$rg_id" "$((now - rg_start))" "$killed" >> "$dir/runs.log"
}

# log_writer (PGUARD_LOG_FILE, PGUARD_LOG_MAX_BYTES, PGUARD_LOG_KEEP): the run's stdout and stderr
# go into a pipe (the FIFO $dir/log.pipe), which this writer appends to the log, renaming the log
# aside each time it holds LOG_MAX_BYTES (log -> log.1 -> ... -> log.KEEP; with KEEP 0 it is
# emptied in place), as supervisord, rotatelogs or multilog do: the log never passes its size and
# nothing is lost at a rotation (a line may begin in log.1 and end in log). dd copies the bytes: a
# dd with bs and count reads at most count x bs bytes from a pipe, one read(2) per block (POSIX;
# GNU head -c does too, but BusyBox's and the BSDs' head read through stdio, which reads ahead and
# would drop what it read past the count). The writer ends at the pipe's end of file (the runner
# and every process of the run gone) or at SIGTERM, which it passes to its dd. A subshell of the
# runner (a fork, no exec): its own file descriptor 3 is the pipe, as a background job's stdin is
# /dev/null.
write_log() {
  trap 'kill $wl_dd 2>/dev/null; exit 0' TERM
  wl_size=$(wc -c < "$log_file" 2>/dev/null) || wl_size=0
  wl_size=$((wl_size + 0))
  while :; do
    if [ "$wl_size" -ge "$log_max" ]; then
      rotate_log
      wl_size=0
    fi
    wl_left=$((log_max - wl_size))
    if [ "$wl_left" -ge 65536 ]; then
      dd bs=65536 count=$((wl_left / 65536)) <&3 >> "$log_file" 2>/dev/null &
    else
      dd bs="$wl_left" count=1 <&3 >> "$log_file" 2>/dev/null &
    fi
    wl_dd=$!
    wait $wl_dd
    wl_was=$wl_size
    wl_size=$(wc -c < "$log_file" 2>/dev/null) || wl_size=0
    wl_size=$((wl_size + 0))
    # Nothing read: the end of the pipe (a log emptied by hand reads smaller, and is written on).
    [ "$wl_size" = "$wl_was" ] && exit 0
  done
}

rotate_log() {
  if [ "$log_keep" -gt 0 ]; then
    wl_i=$log_keep
    while [ "$wl_i" -gt 1 ]; do
      [ -e "$log_file.$((wl_i - 1))" ] && mv -f "$log_file.$((wl_i - 1))" "$log_file.$wl_i"
      wl_i=$((wl_i - 1))
    done
    mv -f "$log_file" "$log_file.1"
  else
    : > "$log_file"
  fi
}

# (Re)start the writer on the pipe; it holds no write end of it (fd 8), or it would never see the end.
start_writer() {
  ( write_log ) 3< "$dir/log.pipe" 8>&- 9>&- &
  wpid=$!
}

# At the runner's exit: close its write end and let the writer write what is left in the pipe (it
# ends by itself once the run's processes are gone); end it once the log has not changed for 2 s (a
# daemon the run left behind holding its stdout would keep it alive forever), or after 10 s. (A
# fixed second lost the pipe's last 64 KB on a machine at load 50.)
end_writer() {
  exec 8>&-
  ew_n=0
  ew_last=
  ew_still=0
  while [ "$ew_n" -lt 500 ] && pid_alive "$wpid"; do
    ew_size=$(wc -c < "$log_file" 2>/dev/null) || ew_size=
    if [ "$ew_size" = "$ew_last" ]; then
      ew_still=$((ew_still + 1))
      [ "$ew_still" -ge 100 ] && break
    else
      ew_still=0
      ew_last=$ew_size
    fi
    sleep 0.02
    ew_n=$((ew_n + 1))
  done
  kill -s TERM "$wpid" 2>/dev/null
}

# Our own files are private; the user's process gets back the umask it was started with.
user_umask=$(umask)
umask 077
dir=$PGUARD_PROC_DIR
# The process log is the user's program's alone: the runner's own stderr (where dash reports a run
# killed by a signal, "Terminated", at every stop and restart) goes nowhere; fd 9 keeps the log for
# the run, which takes it back as its stderr before it execs the command.
exec 9>&2 2>/dev/null
seq=0
delay=${PGUARD_DELAY_MS:-0}
kill_timeout_ms=${PGUARD_KILL_TIMEOUT_MS:-10000}
uptime_file=${PGUARD_UPTIME_FILE:-/proc/uptime}
anchor_ms=
anchor_up=
boot=-
[ -r /proc/sys/kernel/random/boot_id ] && read -r boot < /proc/sys/kernel/random/boot_id
has_setsid=
command -v setsid >/dev/null 2>&1 && has_setsid=1

# log_writer: a new pipe (never one an older runner's writer may still read), the writer on it,
# then the runner's own write end (fd 8; opening a FIFO waits for its reader), which it keeps for
# every run so the writer sees no end of file between runs. Without mkfifo: the log, appended.
log_file=${PGUARD_LOG_FILE:-}
wpid=
if [ -n "$log_file" ]; then
  log_max=${PGUARD_LOG_MAX_BYTES:-0}
  log_keep=${PGUARD_LOG_KEEP:-0}
  rm -f "$dir/log.pipe"
  if [ "$log_max" -gt 0 ] && mkfifo -m 600 "$dir/log.pipe"; then
    start_writer
    exec 8> "$dir/log.pipe"
    trap 'end_writer' EXIT
  else
    log_file=
  fi
fi

# Adopt mode (PGUARD_ADOPT: ID PID STARTTIME BOOTID STARTED_MS): the run of a runner that died
# alone, alive when pguard looked. This runner starts nothing while it lives (its first loop
# watches it instead), and its own runs begin at EPOCH.1.
adopt=${PGUARD_ADOPT:-}

# A runner that died with its process (SIGKILL of both, the OOM killer) may have left that run's
# group behind: end it the same way before the first run. Its leader is gone (else pguard would
# not start this runner), and while the group has members its number names no other group. (An
# adopted run's group is ended after that run, as after any exit.)
if [ -z "$adopt" ] && [ -n "$has_setsid" ] && { read -r old < "$dir/pid"; } 2>/dev/null && ! pid_alive "$old"; then
  reap_group "$old" "$PGUARD_EPOCH.0"
fi

# Survive the signals of a group-wide stop long enough to record the exit. A trap with a command
# (not '') is reset to the default in children, so the user's process still gets them.
trap 'woken=1' TERM INT HUP

# The first run's begin: pguard armed this runner just before it started it, so the arm's anchor
# gives the time without a fork; the wall clock (date) otherwise.
read_arm
clock_ms
begin=$now
while :; do
  if [ -n "$adopt" ]; then
    # The adopted run, until it is gone. Its status is not to be had (this runner is not its
    # parent): '-', a vanished run. It keeps its own (older) ID; this runner's runs are EPOCH.1...
    set -- $adopt
    adopt=
    id=$1
    begin=$5
    wait_adopted "$2" "$3" "$4"
    status=-
  else
    if [ "$delay" -gt 0 ]; then
      pause "$delay"
      now_ms
      begin=$now
    fi
    [ -e "$dir/stop" ] && exit 0
    seq=$((seq + 1))
    id=$PGUARD_EPOCH.$seq
    # A writer that died (killed): a new one before the run. Its run, if it was still writing,
    # died of SIGPIPE (no reader left: the runner holds the write end only), which is recorded as
    # any death is. (kill -0: one system call on the restart path.)
    [ -n "$log_file" ] && ! kill -s 0 "$wpid" 2>/dev/null && start_writer
    # In the foreground, not with &: a non-interactive shell starts background jobs with SIGINT and
    # SIGQUIT ignored, and the user's process must receive them.
    ( run_child )
    status=$?
  fi
  # The arm: what pguard's policy allows at this exit (used below), and its anchor of the clock.
  read_arm
  # Emptied at once, it is spent: one arm buys at most one restart. Should `pguard on-exit` write
  # the next arm between the two, that arm is lost and the next exit takes the slow path: never an
  # extra restart. (Builtins only: no mv or rm to fork.)
  [ -n "$arm" ] && : > "$dir/arm"
  clock_ms
  end=$now
  # ENDED_UPTIME: with the next run's STARTTIME (ticks since boot, the same clock) it measures a
  # restart on the kernel's clock.
  printf 'exit %s %s %s %s\n' "$id" "$status" "$end" "${up:--}" >> "$dir/runs.log"
  # What is left of the run's process group belongs to the dead instance: end it first.
  reaped_at=
  if [ -n "$has_setsid" ] && read -r cpid < "$dir/pid"; then
    reap_group "$cpid" "$id"
  fi

  # A user stop: `pguard stop` records it; nothing more to do here.
  [ -e "$dir/stop" ] && exit 0

  # Fast path: the arm (read at the exit) says what pguard's policy allows.
  restart=0
  if [ -n "$arm" ]; then
    ran=$((end - begin))
    # (${status#-}: an adopted run's '-' is in no list of final statuses, and is no exit 0.)
    case ",$final," in
      *",${status#-},"*) ;; # never restarted (126, 127, no_restart_exit_codes): pguard decides
      *)
        if [ "$status" = 0 ] && [ "$normal" -gt 0 ] && [ "$ran" -ge "$normal" ]; then
          restart=0 # a normal completion: left alone
        elif [ "$stable" -ge 0 ] && [ "$ran" -ge "$stable" ]; then
          restart=1 # a stable run resets the budget: restart at once
        elif [ "$unstable" -eq 1 ] && [ "$end" -ge "$notbefore" ]; then
          restart=1 # within budget and past the cooldown
        fi
        ;;
    esac
  fi 2>/dev/null
  if [ "$restart" -eq 1 ]; then
    # Record and alert in the background, once the new instance has had 100 ms to start: a Node
    # program started beside the report's own Node start-up takes a few ms longer on 2 cores (and
    # lowering the report's priority with nice does not help: README, Performance).
    { sleep 0.1; on_exit --run "$id" --restarted-at "$end"; } >/dev/null 8>&- &
    delay=0
    begin=${reaped_at:-$end}
    continue
  fi

  # Slow path: let pguard decide (restart after a cooldown, give up, or leave a completed run).
  decision=$(on_exit --run "$id")
  case $decision in
    restart-at\ *)
      now_ms
      delay=$((${decision#restart-at } - now))
      ;;
    *) exit 0 ;;
  esac
  now_ms
  begin=$now
done
