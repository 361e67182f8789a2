#!/bin/sh
# Prints its start time in µs since the epoch as its first line, then idles.
t=$(date +%s%N); echo "START ${t%???}"
exec sleep 100000
