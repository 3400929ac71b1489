#!/bin/bash
set -euo pipefail
cp /app/names.txt /app/draft.txt
