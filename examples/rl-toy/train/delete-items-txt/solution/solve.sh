#!/bin/bash
set -euo pipefail
rm /app/items.txt
