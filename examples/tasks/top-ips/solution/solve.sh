#!/bin/bash
set -euo pipefail
awk '$9 == 404 {n[$1]++} END {for (ip in n) print ip, n[ip]}' /app/access.log \
  | sort -k2,2nr -k1,1 | head -n 3 > /app/top_404.txt
