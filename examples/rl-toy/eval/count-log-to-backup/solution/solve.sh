#!/bin/bash
set -euo pipefail
wc -l < /app/log.txt > /app/backup.txt
