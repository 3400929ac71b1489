#!/bin/bash
set -euo pipefail
mv /app/names.txt /app/store.txt
