#!/bin/bash
set -euo pipefail
echo lemon > /app/archive.txt
