#!/bin/bash
# Reward 1 iff /app/hello.txt holds exactly "Hello, tmax!".
if [ "$(cat /app/hello.txt 2>/dev/null)" = "Hello, tmax!" ] && [ "$(wc -l < /app/hello.txt)" -eq 1 ]; then
  echo "PASS: /app/hello.txt is correct"
  echo 1 > /logs/verifier/reward.txt
else
  echo "FAIL: /app/hello.txt is missing or wrong"
  echo 0 > /logs/verifier/reward.txt
fi
