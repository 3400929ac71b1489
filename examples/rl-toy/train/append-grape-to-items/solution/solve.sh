#!/bin/bash
set -euo pipefail
echo grape >> /app/items.txt
