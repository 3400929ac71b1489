#!/bin/bash
set -euo pipefail
chmod +x /app/update.sh
