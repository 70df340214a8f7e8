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
# A jar that is an explicit module (a module-info.class at its root, e.g. acme4j) makes jdeps resolve its
# `requires` as modules, which fails for the automatic ones it names (org.jose4j): such a jar stays on the class path,
# is left out of the analysis, and the JDK modules it declares (java.*, jdk.*; not `static` ones: jar prints the modifier after the name) are added instead.
analysed=() declared=()
for j in "${jars[@]}"; do
  desc=$("$JAVA_HOME/bin/jar" --describe-module --file "$j" 2>/dev/null || true)
  if head -n1 <<<"$desc" | grep -q '!/module-info.class$'; then
    declared+=($(awk '$1 == "requires" && $3 != "static" && $2 ~ /^(java|jdk)\./ {print $2}' <<<"$desc"))
  else
    analysed+=("$j")
  fi
done
modules=$("$JAVA_HOME/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release 25 \
  --class-path "$dist/lib/*" "${analysed[@]}" | tail -n1)
case "$modules" in ""|Error*) echo "jlink-runtime: jdeps found no modules: $modules" >&2; exit 1 ;; esac
for m in "${declared[@]}"; do
  modules="$modules,$m"
done
modules=$(echo "$modules" | tr , '\n' | sort -u | paste -sd, -)
# jdk.charsets: ISO-2022-JP and other extended charsets (loaded by name, invisible to jdeps).
# jdk.zipfs, jdk.localedata are not needed; jdk.crypto.ec is part of java.base since JDK 22.
# java.desktop (and java.prefs, java.datatransfer, which it requires): only micrometer-core's Log4j2Metrics binder
# refers to it (java.beans.PropertyChangeListener); the server does not use that binder and never loads the class
# (issue 22). Dropping it takes AWT, fonts and image libraries (15 MB) out of the appliance.
modules=$(echo "$modules" | tr , '\n' | grep -vx 'java.desktop' | paste -sd, -)
modules="$modules,jdk.charsets"
rm -rf "$out"
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --output "$out" \
  --strip-debug --no-header-files --no-man-pages --compress=zip-6 \
  --add-options="--enable-native-access=ALL-UNNAMED"
# No class-data archive (--generate-cds-archive, 14 MB): the server starts from its AOT cache
# (runtime/lib/darwinmail.aot, trained in the image by the darwinmail role), which holds the JDK's classes it uses too. The CLI
# pays for it: about 0.1 s more CPU per command (bench/README.md, "bench-start").
# libjvm.so's symbol table (5 MB): a crash report then names native frames by offset (libjvm.so+0x...), which the
# Temurin build's symbols resolve; the JVM's own Java stack traces are unaffected.
strip --strip-unneeded "$out/lib/server/libjvm.so"
echo "$modules" > "$out/darwinmail-modules"
echo "jlink-runtime: $(du -sh "$out" | cut -f1) with $modules"
