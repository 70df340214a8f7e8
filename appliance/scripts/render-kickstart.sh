#!/usr/bin/env bash
# Renders kickstart/ks.cfg.tmpl into OUT_DIR/ks.cfg (served by Packer's HTTP server).
#   render-kickstart.sh OUT_DIR BUILD_PUBKEY_FILE VERSION
# ROOT_PASSWORD_HASH (environment, optional): a crypted root password
# (openssl passwd -6); without it root is locked.
set -euo pipefail
out=$1 pubkey=$2 version=$3
here=$(cd "$(dirname "$0")/../.." && pwd)
if [ -n "${ROOT_PASSWORD_HASH:-}" ]; then rootpw="rootpw --iscrypted $ROOT_PASSWORD_HASH"; else rootpw="rootpw --lock"; fi
mkdir -p "$out"
key=$(cat "$pubkey")
ROOTPW=$rootpw KEY=$key VERSION=$version /usr/bin/python3 - "$here/kickstart/ks.cfg.tmpl" "$out/ks.cfg" <<'PY'
import os, sys
s = open(sys.argv[1]).read()
for k, v in (("@ROOTPW@", os.environ["ROOTPW"]), ("@BUILD_SSH_KEY@", os.environ["KEY"]), ("@VERSION@", os.environ["VERSION"])):
    s = s.replace(k, v)
assert "@" + "ROOTPW@" not in s
open(sys.argv[2], "w").write(s)
PY
echo "render-kickstart: $out/ks.cfg"
