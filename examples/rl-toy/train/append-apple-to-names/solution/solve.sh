#!/bin/bash
set -euo pipefail
echo apple >> /app/names.txt
