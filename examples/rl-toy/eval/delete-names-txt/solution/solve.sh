#!/bin/bash
set -euo pipefail
rm /app/names.txt
