"""The data disk: the one thing carried to the next version of the appliance.
Mail written anywhere else would be lost at the upgrade."""


def test_mounted_by_label_from_the_second_disk(host):
    mount = host.mount_point("/var/lib/darwinmail")
    assert mount.exists
    assert mount.filesystem == "ext4"
    assert host.check_output("blkid -s LABEL -o value %s" % mount.device) == "darwin-data"
    root_disk = host.check_output("lsblk -no PKNAME $(findmnt -no SOURCE /)")
    data_parent = host.check_output("lsblk -no PKNAME %s" % mount.device)
    assert mount.device != host.mount_point("/").device
    assert data_parent in ("", None) and host.check_output("lsblk -dno NAME %s" % mount.device) != root_disk


def test_fstab_names_the_label_and_waits_for_slow_disks(host):
    fstab = host.file("/etc/fstab").content_string
    line = next(l for l in fstab.splitlines() if l.startswith("LABEL=darwin-data"))
    assert "/var/lib/darwinmail" in line and "nofail" in line and "x-systemd.device-timeout=" in line


def test_owned_by_the_service_user(host):
    d = host.file("/var/lib/darwinmail")
    assert (d.user, d.group, d.mode) == ("darwinmail", "darwinmail", 0o750)


def test_server_keeps_its_state_there(host):
    """Database and TLS key are on the data disk, owned by the service."""
    files = host.check_output("find /var/lib/darwinmail -mindepth 1 -maxdepth 2 ! -user darwinmail "
                              "! -path /var/lib/darwinmail/lost+found -printf '%p\\n'")
    assert files == "", "files not owned by darwinmail: " + files
    assert host.file("/var/lib/darwinmail/tls/key.pem").mode == 0o600
    assert int(host.check_output("find /var/lib/darwinmail -type f | wc -l")) > 3


def test_formatted_once_by_the_first_boot(host):
    log = host.check_output("journalctl -b -u darwinmail-datadisk.service --no-pager -o cat")
    assert "formatting blank" in log
