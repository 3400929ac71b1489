#!/bin/bash
set -euo pipefail
chmod +x /app/install.sh
