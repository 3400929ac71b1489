#!/bin/bash
set -euo pipefail
chmod +x /app/build.sh
