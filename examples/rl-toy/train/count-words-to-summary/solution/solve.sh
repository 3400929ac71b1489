#!/bin/bash
set -euo pipefail
wc -l < /app/words.txt > /app/summary.txt
