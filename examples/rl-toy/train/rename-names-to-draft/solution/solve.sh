#!/bin/bash
set -euo pipefail
mv /app/names.txt /app/draft.txt
