#!/bin/bash
set -euo pipefail
echo grape > /app/archive.txt
