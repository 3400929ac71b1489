#!/bin/bash
set -euo pipefail
echo lemon > /app/report.txt
