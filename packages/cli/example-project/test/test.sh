#!/bin/sh
set -eu
echo "testing greet $(cat VERSION)"
[ -L hello ] || { echo "hello is not a symlink" >&2; exit 1; }
[ -x greet ] || { echo "greet lost its execute bit" >&2; exit 1; }
out="$(./hello pipewright)"
[ "$out" = "Hello, pipewright!" ] || { echo "unexpected output: $out" >&2; exit 1; }
echo "ok 1 - greet runs through its symlink: $out"
