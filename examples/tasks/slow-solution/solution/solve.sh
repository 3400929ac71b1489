#!/bin/bash
# Writes the answer at once, then keeps working far beyond the 4 s agent timeout.
date -u +%Y-%m-%d > /app/today.txt
echo "answer written; now sleeping past the agent timeout"
sleep 300
