#!/bin/bash
set -euo pipefail
wc -l < /app/notes.txt > /app/result.txt
