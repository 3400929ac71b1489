#!/bin/bash
# Decides whether this machine has network access without depending on any one host:
#  - online if a network interface other than loopback exists and there is a default route (IPv4 or IPv6);
#  - online if a TCP connection to any of a few public addresses (literal IPs, no DNS) succeeds.
# In this task's sandbox (allow_internet = false) there is only loopback, so every check must fail: offline.
online=0

ifaces="$(ls /sys/class/net 2>/dev/null | grep -v '^lo$')"
default4="$(awk 'NR > 1 && $2 == "00000000" && $1 != "lo" { print $1 }' /proc/net/route 2>/dev/null)"
default6="$(awk '$1 ~ /^0+$/ && $2 == "00" && $10 != "lo" { print $10 }' /proc/net/ipv6_route 2>/dev/null)"
if [ -n "$ifaces" ] && [ -n "$default4$default6" ]; then
  online=1
fi

# Without a route these fail at once ("Network is unreachable"); each attempt is capped at 3 s.
for addr in 1.1.1.1/443 8.8.8.8/53 9.9.9.9/53; do
  [ "$online" = 1 ] && break
  if timeout 3 bash -c "exec 3<>/dev/tcp/${addr}" 2>/dev/null; then
    online=1
  fi
done

if [ "$online" = 1 ]; then
  echo online > /app/network.txt
else
  echo offline > /app/network.txt
fi
