#!/usr/bin/env bash
# Links the appliance's Java runtime: only the JDK modules the server needs
# (ARCHITECTURE.md, "The appliance build path"), from the JDK's own run-time image (Temurin 25 has no jmods/).
#   jlink-runtime.sh DIST_DIR OUT_DIR
# The application stays on the class path (several dependencies are automatic
# modules); jdeps lists the JDK modules, plus jdk.charsets (ISO-2022-JP mail,
# which jdeps cannot see).
set -euo pipefail
dist=$1 out=$2
: "${JAVA_HOME:?JAVA_HOME must name a JDK 21+}"
jars=("$dist"/lib/*.jar)
[ -e "${jars[0]}" ] || { echo "jlink-runtime: no jars in $dist/lib (run make dist)" >&2; exit 1; }
modules=$("$JAVA_HOME/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release 25 \
  --class-path "$dist/lib/*" "${jars[@]}" | tail -n1)
[ -n "$modules" ] || { echo "jlink-runtime: jdeps found no modules" >&2; exit 1; }
# jdk.charsets: ISO-2022-JP and other extended charsets (loaded by name, invisible to jdeps).
# jdk.zipfs, jdk.localedata are not needed; jdk.crypto.ec is part of java.base since JDK 22.
modules="$modules,jdk.charsets"
rm -rf "$out"
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --output "$out" \
  --strip-debug --no-header-files --no-man-pages --compress=zip-6 \
  --generate-cds-archive \
  --add-options="--enable-native-access=ALL-UNNAMED"
# The CDS archive for compressed oops speeds up every start (minutes under
# emulation); the one without compressed oops serves heaps over 32 GB only.
rm -f "$out/lib/server/classes_nocoops.jsa"
echo "$modules" > "$out/darwinmail-modules"
echo "jlink-runtime: $(du -sh "$out" | cut -f1) with $modules"
