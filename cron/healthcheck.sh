#!/bin/sh
# What pguard's crontab lines run. cron starts jobs with a minimal PATH, no terminal and $HOME as
# the working directory, so every path arrives absolute:
#   healthcheck.sh NODE PGUARD_JS REGISTRY STATE_DIR LOGFILE [SUBCOMMAND [ARG...]]
# (a schedule's own line: SUBCOMMAND fire, ARG its process name)
# STATE_DIR is the one resolved at install time (cron has none of the installer's environment).
# Output is appended to LOGFILE (kept under 1 MB: it is moved to LOGFILE.1 past that).
node=$1 cli=$2 registry=$3 log=$5
PGUARD_STATE_DIR=$4
export PGUARD_STATE_DIR
shift 5
sub=${1:-healthcheck}
[ $# -gt 0 ] && shift
if [ -f "$log" ] && [ "$(wc -c < "$log")" -gt 1048576 ]; then
  mv -f "$log" "$log.1"
fi
exec "$node" "$cli" "$sub" "$@" --registry "$registry" >> "$log" 2>&1
