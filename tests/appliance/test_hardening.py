"""What makes each deployed copy private and closed: its own keys and
identity, no shared or default passwords, key-only SSH, no root login."""
import subprocess

import pytest

from conftest import HOSTNAME


def test_host_keys_created_on_this_copys_first_boot(host):
    boot = int(host.check_output("date -d \"$(uptime -s)\" +%s"))
    for key in ("ed25519", "ecdsa"):
        f = host.file("/etc/ssh/ssh_host_%s_key" % key)
        assert f.exists and f.mode == 0o600
        assert f.mtime.timestamp() >= boot - 5, "%s key predates this boot" % key


def test_host_key_served_is_the_new_one(host, appliance):
    scan = subprocess.run(["ssh-keyscan", "-t", "ed25519", "-p", str(appliance.ports[22]), "127.0.0.1"],
                          capture_output=True, text=True, timeout=60).stdout.split()
    local = host.file("/etc/ssh/ssh_host_ed25519_key.pub").content_string.split()
    assert scan[1:3] == local[0:2]


def test_machine_id_initialised(host):
    mid = host.file("/etc/machine-id").content_string.strip()
    assert len(mid) == 32 and mid != "uninitialized"


def test_build_key_and_build_logs_are_gone(host):
    assert not host.file("/root/.ssh/authorized_keys").exists
    assert not host.file("/root/.bash_history").exists


def test_only_admin_has_a_password(host):
    """No default passwords: every account but admin (set from the OVF
    property) is locked or has none."""
    usable = [l.split(":")[0] for l in host.check_output("getent shadow").splitlines()
              if l.split(":")[1] and l.split(":")[1][0] not in "!*"]
    assert usable == ["admin"]
    assert host.check_output("passwd -S root").split()[1] == "L"


@pytest.mark.parametrize("option,value", [
    ("permitrootlogin", "no"),
    ("passwordauthentication", "no"),
    ("kbdinteractiveauthentication", "no"),
    ("permitemptypasswords", "no"),
])
def test_sshd_effective_configuration(host, option, value):
    assert host.check_output("sshd -T | grep -i '^%s '" % option).split()[1] == value


def ssh_attempt(appliance, user, *opts):
    return subprocess.run(["ssh", "-F", appliance.ssh_config, "-o", "ControlMaster=no", "-o", "ControlPath=none",
                           *opts, "-l", user, appliance.name, "true"],
                          capture_output=True, text=True, timeout=120)


def test_root_cannot_log_in_even_with_the_admin_key(appliance):
    r = ssh_attempt(appliance, "root")
    assert r.returncode == 255 and "Permission denied" in r.stderr


def test_password_login_is_not_offered(appliance):
    r = ssh_attempt(appliance, "admin", "-o", "PreferredAuthentications=password,keyboard-interactive",
                    "-o", "PubkeyAuthentication=no")
    assert r.returncode == 255 and "Permission denied (publickey)" in r.stderr


def test_hostname_and_certificate_from_ovf_properties(host):
    assert host.check_output("hostname") == HOSTNAME.split(".")[0]
    subject = host.check_output("openssl x509 -noout -subject -in /var/lib/darwinmail/tls/cert.pem")
    assert HOSTNAME in subject
