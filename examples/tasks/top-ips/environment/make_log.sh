#!/bin/bash
# Deterministic fixture: a pseudo-random access log (fixed seed) with a known 404 distribution.
RANDOM=42
paths=(/ /index.html /about /api/items /api/users /login /static/app.js /missing /old-page)
codes=(200 200 200 200 301 404 404 500)
for ((i = 0; i < 3000; i++)); do
  ip="10.0.$((RANDOM % 4)).$((RANDOM % 12))"
  p=${paths[$((RANDOM % ${#paths[@]}))]}
  c=${codes[$((RANDOM % ${#codes[@]}))]}
  printf '%s - - [21/Nov/2026:10:%02d:%02d +0000] "GET %s HTTP/1.1" %s %d\n' "$ip" $((i / 60 % 60)) $((i % 60)) "$p" "$c" $((RANDOM % 5000))
done
