#!/bin/bash
set -euo pipefail
cp /app/todo.txt /app/report.txt
