#!/usr/bin/env bash
# Packs what goes to /opt/darwinmail: the dist tree (bin/, lib/, conf/) and the
# jlink runtime beside it (runtime/), for the darwinmail role to unpack.
#   make-bundle.sh DIST_DIR RUNTIME_DIR VERSION OUT.tar.gz
set -euo pipefail
dist=$1 runtime=$2 version=$3 out=$4
for d in bin lib conf; do [ -d "$dist/$d" ] || { echo "make-bundle: $dist/$d missing (make dist)" >&2; exit 1; }; done
[ -x "$runtime/bin/java" ] || { echo "make-bundle: $runtime is not a Java runtime" >&2; exit 1; }
stage=$(mktemp -d)
chmod 755 "$stage"
trap 'rm -rf "$stage"' EXIT
cp -a "$dist/bin" "$dist/lib" "$dist/conf" "$stage/"
cp -a "$runtime" "$stage/runtime"
echo "$version" > "$stage/VERSION"
mkdir -p "$(dirname "$out")"
tar -C "$stage" --owner=0 --group=0 -czf "$out.tmp" .
mv "$out.tmp" "$out"
echo "make-bundle: $out ($(du -h "$out" | cut -f1))"
