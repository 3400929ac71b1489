#!/bin/bash
set -euo pipefail
echo orange >> /app/names.txt
