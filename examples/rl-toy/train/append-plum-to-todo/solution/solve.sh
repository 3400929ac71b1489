#!/bin/bash
set -euo pipefail
echo plum >> /app/todo.txt
