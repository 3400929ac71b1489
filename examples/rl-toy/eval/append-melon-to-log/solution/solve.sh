#!/bin/bash
set -euo pipefail
echo melon >> /app/log.txt
