#!/usr/bin/env bash
# Builds the Debian 12 base disk that the qemu Packer source provisions
# (ARCHITECTURE.md, "The appliance build path": no EL installer is reachable here, so the CI image is made
# from Debian's packages with mmdebstrap instead of an installer).
#
#   build-base.sh OUT.qcow2 CACHE_DIR BUILD_PUBKEY
#
# The root filesystem tarball is cached in CACHE_DIR, keyed by the package
# list and this script, so a rerun only re-assembles the disk (~15 s).
# The disk: 16 GiB, one MBR partition, ext4 labelled "root", GRUB (i386-pc)
# booting the /vmlinuz and /initrd.img links so kernel updates keep working.
# BUILD_PUBKEY is authorised for root only for provisioning; the Ansible
# `cleanup` role removes it before the image is shipped.
set -euo pipefail
out=$1 cache=$2 pubkey=$3
here=$(cd "$(dirname "$0")" && pwd)

suite=bookworm
mirror=http://deb.debian.org/debian
security=http://deb.debian.org/debian-security
# Everything the roles need is preinstalled: dpkg under TCG is slow, so the
# roles only verify these (state: present) instead of downloading them.
# The kernel is Debian's cloud flavour: it has the drivers of the appliance's virtual hardware (VMware: PVSCSI,
# vmxnet3, VMCI and its vsock, the balloon, the PTP clock, the IDE CD-ROM; QEMU: virtio-scsi, virtio-net) and none
# of the sound, GPU, wireless, USB-device and other hardware drivers a VM never loads: its modules take 105 MB
# installed against the generic flavour's 400 MB (issue 22, "Small").
packages=(
  linux-image-cloud-amd64 systemd-sysv systemd-resolved systemd-timesyncd udev dbus kmod
  openssh-server sudo python3 python3-apt iproute2 procps netbase nftables
  e2fsprogs util-linux open-vm-tools ca-certificates less vim-tiny
)
# dpkg's path filters: no documentation (copyright files stay), manual pages or message catalogues; they stay in
# the image's dpkg configuration for every later install and upgrade.
excludes=$here/../base/dpkg-excludes.cfg
# Cache key: what goes into the tarball (bump "rootfs-vN" when the mmdebstrap call changes).
key=$( (printf '%s\n' rootfs-v2 "$suite" "${packages[@]}"; cat "$excludes") | sha256sum | cut -c1-16)
tarball=$cache/rootfs-$suite-$key.tar
mkdir -p "$cache"
if [ ! -s "$tarball" ]; then
  echo "build-base: mmdebstrap $suite (not cached: $tarball)"
  start=$SECONDS
  # The merged-usr hook makes /bin, /sbin and /lib links into /usr and installs usr-is-merged (as debootstrap
  # does); without it apt satisfies init-system-helpers with usrmerge, which brings Perl (47 MB installed).
  mmdebstrap --variant=minbase --format=tar --components=main \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt="$excludes" \
    --include="$(IFS=,; echo "${packages[*]}")" \
    --customize-hook='chroot "$1" apt-get clean' \
    "$suite" "$tarball.tmp" \
    "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main"
  mv "$tarball.tmp" "$tarball"
  # Keep only the current root filesystem in the cache.
  find "$cache" -maxdepth 1 -name "rootfs-$suite-*.tar*" ! -name "$(basename "$tarball")" -delete
  echo "build-base: mmdebstrap took $((SECONDS - start)) s"
else
  echo "build-base: using cached $tarball"
fi

start=$SECONDS
work=$(mktemp -d)
raw=$work/disk.raw
mnt=$work/mnt
loop=
cleanup() {
  set +e
  mountpoint -q "$mnt" && umount -R "$mnt"
  [ -n "$loop" ] && losetup -d "$loop"
  rm -rf "$work"
}
trap cleanup EXIT

truncate -s 16G "$raw"
echo 'label: dos
start=2048, type=83, bootable' | sfdisk -q "$raw"
loop=$(losetup -P --show -f "$raw")
# No udev on the build host: the partition node appears late.
partx -u "$loop" 2>/dev/null || true
for _ in $(seq 50); do [ -b "${loop}p1" ] && break; sleep 0.2; done
[ -b "${loop}p1" ] || { echo "build-base: ${loop}p1 never appeared" >&2; exit 1; }
mkfs.ext4 -q -L root -E lazy_itable_init=1 "${loop}p1"
mkdir -p "$mnt"
mount "${loop}p1" "$mnt"
tar -C "$mnt" -xpf "$tarball"

# System identity and boot configuration of the base (the roles refine it).
echo darwinmail > "$mnt/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdarwinmail\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$mnt/etc/hosts"
echo 'LABEL=root / ext4 errors=remount-ro 0 1' > "$mnt/etc/fstab"
mkdir -p "$mnt/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' > "$mnt/etc/systemd/network/80-dhcp.network"
chroot "$mnt" systemctl enable -q systemd-networkd systemd-resolved ssh
ln -sf ../run/systemd/resolve/stub-resolv.conf "$mnt/etc/resolv.conf"
# root: no password (locked); key-only access for provisioning.
chroot "$mnt" passwd -q -l root
install -d -m 700 "$mnt/root/.ssh"
install -m 600 "$pubkey" "$mnt/root/.ssh/authorized_keys"
: > "$mnt/etc/machine-id"

mkdir -p "$mnt/boot/grub"
cat > "$mnt/boot/grub/grub.cfg" <<'CFG'
# Darwin Mail appliance. Boots the /vmlinuz and /initrd.img links that
# Debian's kernel packages maintain, so kernel updates need no grub change.
set timeout=1
insmod part_msdos
insmod ext2
search --no-floppy --label root --set=root
menuentry 'Darwin Mail' {
  linux /vmlinuz root=LABEL=root ro console=tty0 console=ttyS0,115200n8 quiet
  initrd /initrd.img
}
CFG
# GRUB without grub-install (which cannot map loop partitions to BIOS drives
# on a host without udev): the core image with a fixed prefix embedded after
# the MBR, the MBR boot code written around the partition table, the modules
# copied into /boot/grub.
mkdir -p "$mnt/boot/grub/i386-pc"
cp /usr/lib/grub/i386-pc/*.mod /usr/lib/grub/i386-pc/*.lst "$mnt/boot/grub/i386-pc/"
grub-mkimage -O i386-pc -p '(hd0,msdos1)/boot/grub' -o "$work/core.img" biosdisk part_msdos ext2 search search_label
[ "$(stat -c %s "$work/core.img")" -lt $((2047 * 512)) ] || { echo "build-base: core.img too large" >&2; exit 1; }
umount "$mnt"
losetup -d "$loop"; loop=
mkdir -p "$(dirname "$out")"
# MBR: boot code only (the first 440 bytes), then core.img from sector 1.
dd if=/usr/lib/grub/i386-pc/boot.img of="$raw" bs=440 count=1 conv=notrunc status=none
dd if="$work/core.img" of="$raw" bs=512 seek=1 conv=notrunc status=none
qemu-img convert -O qcow2 "$raw" "$out.tmp"
mv "$out.tmp" "$out"
echo "build-base: disk assembled in $((SECONDS - start)) s: $out ($(du -h "$out" | cut -f1))"
