#!/bin/bash
set -euo pipefail
echo mango >> /app/notes.txt
