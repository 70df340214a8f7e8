#!/usr/bin/env bash
# Packs what goes to /opt/darwinmail: the dist tree (bin/, lib/, conf/) and the
# jlink runtime beside it (runtime/), for the darwinmail role to unpack; with the
# runtime's AOT caches (the server's and the commands'), trained here at the path
# the image runs them from (ARCHITECTURE.md, "The launcher and the JVM").
#   make-bundle.sh DIST_DIR RUNTIME_DIR VERSION OUT.tar.gz
# APPLIANCE_AOT=off packs no cache; DARWINMAIL_HOME is the role's darwinmail_home.
set -euo pipefail
dist=$1 runtime=$2 version=$3 out=$4
home=${DARWINMAIL_HOME:-/opt/darwinmail}
for d in bin lib conf; do [ -d "$dist/$d" ] || { echo "make-bundle: $dist/$d missing (make dist)" >&2; exit 1; }; done
[ -x "$runtime/bin/java" ] || { echo "make-bundle: $runtime is not a Java runtime" >&2; exit 1; }
stage=$(mktemp -d)
chmod 755 "$stage"
trap 'rm -rf "$stage"' EXIT
cp -a "$dist/bin" "$dist/lib" "$dist/conf" "$stage/"
cp -a "$runtime" "$stage/runtime"
echo "$version" > "$stage/VERSION"
# A cache is valid only for the class path it was trained with (absolute paths, sizes and times: tar keeps them)
# and the launcher uses it only in the folder it was trained in, so the training server runs from $home: in a
# private mount namespace (unshare: root or user namespaces) where $home is this stage, never the build machine's.
# Training here rather than in the image: the image is built under QEMU's software emulation, where the training
# server did not greet within two minutes; the runtime and the class path are the same files in both places.
if [ "${APPLIANCE_AOT:-on}" != off ]; then
  parent=$(dirname "$home")
  [ -d "$parent" ] || { echo "make-bundle: $parent missing: the training needs it as a mount point (APPLIANCE_AOT=off packs no cache)" >&2; exit 1; }
  uns=(unshare --mount --propagation private)
  [ "$(id -u)" = 0 ] || uns=(unshare --user --map-root-user --mount --propagation private)
  "${uns[@]}" sh -euc 'mount -t tmpfs tmpfs "$1" && mkdir "$2" && mount --bind "$3" "$2" &&
    "$2/bin/darwinmail-aot-train" "$2" "$2/runtime/lib/darwinmail.aot"' sh "$parent" "$home" "$stage" \
    || { echo "make-bundle: training the AOT caches failed (APPLIANCE_AOT=off packs no cache)" >&2; exit 1; }
fi
mkdir -p "$(dirname "$out")"
tar -C "$stage" --owner=0 --group=0 -czf "$out.tmp" .
mv "$out.tmp" "$out"
echo "make-bundle: $out ($(du -h "$out" | cut -f1))"
