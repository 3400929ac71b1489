#!/bin/bash
set -euo pipefail
printf 'Hello, tmax!\n' > /app/hello.txt
