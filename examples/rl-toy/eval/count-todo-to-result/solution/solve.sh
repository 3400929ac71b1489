#!/bin/bash
set -euo pipefail
wc -l < /app/todo.txt > /app/result.txt
