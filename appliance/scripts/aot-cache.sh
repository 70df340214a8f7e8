#!/usr/bin/env bash
# Trains the server's ahead-of-time cache for the jlink runtime (ARCHITECTURE.md, "The launcher and the JVM") and
# puts it at RUNTIME_DIR/lib/darwinmail.aot, where bin/darwinmail looks when it runs runtime/bin/java.
#   aot-cache.sh DIST_DIR RUNTIME_DIR
# The cache is only valid for the java that made it and the class path it ran with (the same jars, same sizes and
# times, same order; not the same folder): it is trained on a copy of the tree laid out as /opt/darwinmail is.
set -euo pipefail
dist=$1 runtime=$2
here=$(cd "$(dirname "$0")/../.." && pwd)
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
cp -a "$dist/bin" "$dist/lib" "$dist/conf" "$tree/"
ln -s "$(cd "$runtime" && pwd)" "$tree/runtime"
rm -f "$runtime/lib/darwinmail.aot"
"$here/tools/aot-train" "$tree" "$tree/darwinmail.aot"
mv "$tree/darwinmail.aot" "$runtime/lib/darwinmail.aot"
echo "aot-cache: $runtime/lib/darwinmail.aot ($(du -h "$runtime/lib/darwinmail.aot" | cut -f1))"
