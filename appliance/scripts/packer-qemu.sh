#!/usr/bin/env bash
# packer-qemu.sh OUTPUT_DIR BASE_IMAGE [packer -var arguments...]: `packer build` of the qemu source, bounded in time.
#
# Under TCG the build takes about 5 minutes here (boot to SSH about 1, the Ansible play about 4). A CI run of
# 5 December 2026 spent 66 minutes in Packer before the play's first task, and the run was cut short at its time
# limit; where it waited is unknown (its output ended with the play). So a build that has not finished in
# PACKER_LIMIT seconds (default 1200) is stopped (Packer cancels and stops its QEMU), the guest's serial log is
# shown, and the build runs once more from the start. A second overrun fails the build.
set -uo pipefail
out=$1 base=$2; shift 2
limit=${PACKER_LIMIT:-1200}
serial="$out-serial.log"
for attempt in 1 2; do
  rm -rf "$out"
  timeout --kill-after=120 "$limit" packer build -only=qemu.darwinmail "$@" \
    -var output_dir="$out" -var qemu_base_image="$base" packer/
  rc=$?
  [ "$rc" -ne 124 ] && exit "$rc"
  echo "packer-qemu: the build did not finish in $limit s (attempt $attempt of 2); the guest's serial log ends:" >&2
  tail -n 25 "$serial" 2>/dev/null | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' | tr -cd '[:print:]\n' >&2
done
exit 124
