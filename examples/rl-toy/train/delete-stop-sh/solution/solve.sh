#!/bin/bash
set -euo pipefail
rm /app/stop.sh
