#!/bin/bash
# Exact check of the final state; reward 1 iff every condition holds.
ok=1
printf 'peach\n' | cmp -s - /app/store.txt || { echo "FAIL: printf 'peach\n' | cmp -s - /app/store.txt"; ok=0; }
printf 'buy milk\ncall bob\nread book\n' | cmp -s - /app/notes.txt || { echo "FAIL: printf 'buy milk\ncall bob\nread book\n' | cmp -s - /app/notes.txt"; ok=0; }
printf 'wash car\npay rent\nfix sink\nwalk dog\ncook rice\n' | cmp -s - /app/todo.txt || { echo "FAIL: printf 'wash car\npay rent\nfix sink\nwalk dog\ncook rice\n' | cmp -s - /app/todo.txt"; ok=0; }
printf 'pear\nfig\nkiwi\ndate\n' | cmp -s - /app/words.txt || { echo "FAIL: printf 'pear\nfig\nkiwi\ndate\n' | cmp -s - /app/words.txt"; ok=0; }
printf 'start\nload\nrun\nsave\ncheck\nstop\nexit\n' | cmp -s - /app/log.txt || { echo "FAIL: printf 'start\nload\nrun\nsave\ncheck\nstop\nexit\n' | cmp -s - /app/log.txt"; ok=0; }
printf 'ann\nben\ncat\ndan\neve\nfay\n' | cmp -s - /app/names.txt || { echo "FAIL: printf 'ann\nben\ncat\ndan\neve\nfay\n' | cmp -s - /app/names.txt"; ok=0; }
printf 'cup\npen\n' | cmp -s - /app/items.txt || { echo "FAIL: printf 'cup\npen\n' | cmp -s - /app/items.txt"; ok=0; }
[ -f /app/build.sh ] && [ ! -x /app/build.sh ] || { echo "FAIL: [ -f /app/build.sh ] && [ ! -x /app/build.sh ]"; ok=0; }
[ -f /app/run.sh ] && [ ! -x /app/run.sh ] || { echo "FAIL: [ -f /app/run.sh ] && [ ! -x /app/run.sh ]"; ok=0; }
[ -f /app/clean.sh ] && [ ! -x /app/clean.sh ] || { echo "FAIL: [ -f /app/clean.sh ] && [ ! -x /app/clean.sh ]"; ok=0; }
[ -f /app/deploy.sh ] && [ ! -x /app/deploy.sh ] || { echo "FAIL: [ -f /app/deploy.sh ] && [ ! -x /app/deploy.sh ]"; ok=0; }
[ -f /app/check.sh ] && [ ! -x /app/check.sh ] || { echo "FAIL: [ -f /app/check.sh ] && [ ! -x /app/check.sh ]"; ok=0; }
[ -f /app/setup.sh ] && [ ! -x /app/setup.sh ] || { echo "FAIL: [ -f /app/setup.sh ] && [ ! -x /app/setup.sh ]"; ok=0; }
[ -f /app/start.sh ] && [ ! -x /app/start.sh ] || { echo "FAIL: [ -f /app/start.sh ] && [ ! -x /app/start.sh ]"; ok=0; }
[ -f /app/stop.sh ] && [ ! -x /app/stop.sh ] || { echo "FAIL: [ -f /app/stop.sh ] && [ ! -x /app/stop.sh ]"; ok=0; }
[ -f /app/install.sh ] && [ ! -x /app/install.sh ] || { echo "FAIL: [ -f /app/install.sh ] && [ ! -x /app/install.sh ]"; ok=0; }
[ -f /app/update.sh ] && [ ! -x /app/update.sh ] || { echo "FAIL: [ -f /app/update.sh ] && [ ! -x /app/update.sh ]"; ok=0; }
[ -f /app/lint.sh ] && [ ! -x /app/lint.sh ] || { echo "FAIL: [ -f /app/lint.sh ] && [ ! -x /app/lint.sh ]"; ok=0; }
[ -f /app/serve.sh ] && [ ! -x /app/serve.sh ] || { echo "FAIL: [ -f /app/serve.sh ] && [ ! -x /app/serve.sh ]"; ok=0; }
echo "reward $ok"
echo $ok > /logs/verifier/reward.txt
