#!/bin/bash
set -euo pipefail
cp /app/items.txt /app/draft.txt
