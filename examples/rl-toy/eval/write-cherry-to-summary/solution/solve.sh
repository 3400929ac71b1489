#!/bin/bash
set -euo pipefail
echo cherry > /app/summary.txt
