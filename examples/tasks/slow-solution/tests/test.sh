#!/bin/bash
expected="$(date -u +%Y-%m-%d)"
if [ "$(cat /app/today.txt 2>/dev/null)" = "$expected" ]; then
  echo "PASS"; echo 1 > /logs/verifier/reward.txt
else
  echo "FAIL: expected $expected"; echo 0 > /logs/verifier/reward.txt
fi
