#!/bin/bash
set -euo pipefail
echo peach > /app/store.txt
