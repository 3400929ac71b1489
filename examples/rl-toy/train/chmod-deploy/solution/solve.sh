#!/bin/bash
set -euo pipefail
chmod +x /app/deploy.sh
