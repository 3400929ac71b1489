#!/bin/bash
set -euo pipefail
chmod +x /app/clean.sh
