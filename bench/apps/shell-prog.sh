#!/bin/sh
# Prints its start time in ms as its first line, then idles.
t=$(date +%s%N); echo "START ${t%??????}"
exec sleep 100000
