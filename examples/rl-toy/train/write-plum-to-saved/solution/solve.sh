#!/bin/bash
set -euo pipefail
echo plum > /app/saved.txt
