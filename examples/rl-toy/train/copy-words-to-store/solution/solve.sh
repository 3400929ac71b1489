#!/bin/bash
set -euo pipefail
cp /app/words.txt /app/store.txt
