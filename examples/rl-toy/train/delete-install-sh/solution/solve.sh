#!/bin/bash
set -euo pipefail
rm /app/install.sh
