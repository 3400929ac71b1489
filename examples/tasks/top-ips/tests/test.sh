#!/bin/bash
# Recomputes the answer from the log and compares.
expected="$(awk '$9 == 404 {n[$1]++} END {for (ip in n) print ip, n[ip]}' /app/access.log | sort -k2,2nr -k1,1 | head -n 3)"
if [ -f /app/top_404.txt ] && [ "$(cat /app/top_404.txt)" = "$expected" ]; then
  echo "PASS"; echo 1 > /logs/verifier/reward.txt
else
  echo "FAIL"; echo "expected:"; echo "$expected"; echo "got:"; cat /app/top_404.txt 2>/dev/null
  echo 0 > /logs/verifier/reward.txt
fi
