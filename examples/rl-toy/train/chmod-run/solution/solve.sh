#!/bin/bash
set -euo pipefail
chmod +x /app/run.sh
