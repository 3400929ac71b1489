#!/bin/bash
# Tries to reach the network; in this task's sandbox the attempt must fail.
if timeout 5 bash -c 'exec 3<>/dev/tcp/deb.debian.org/80' 2>/dev/null; then
  echo online > /app/network.txt
else
  echo offline > /app/network.txt
fi
