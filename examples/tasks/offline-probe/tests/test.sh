#!/bin/bash
# Passes only if the sandbox really had no network: no interface but loopback, and the agent saw "offline".
ifaces="$(ls /sys/class/net | grep -v '^lo$' | tr '\n' ' ')"
answer="$(cat /app/network.txt 2>/dev/null)"
echo "interfaces besides lo: '${ifaces}'; answer: '${answer}'"
if [ -z "$ifaces" ] && [ "$answer" = "offline" ]; then
  echo 1 > /logs/verifier/reward.txt
else
  echo 0 > /logs/verifier/reward.txt
fi
