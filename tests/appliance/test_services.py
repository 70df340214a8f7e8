"""The mail service as the administrator relies on it: enabled, running
unprivileged on the appliance's own Java runtime, confined by systemd, and
logging to the journal."""
import tarfile
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import HOSTNAME


def main_pid(host):
    pid = int(host.check_output("systemctl show -p MainPID --value darwinmail.service"))
    assert pid > 0, "darwinmail.service has no main process"
    return pid


def test_service_enabled_and_running(host):
    svc = host.service("darwinmail")
    assert svc.is_enabled
    assert svc.is_running


def test_boot_has_no_ordering_cycle(host):
    """systemd breaks an ordering loop by dropping a job it picks at random: a boot could skip
    darwinmail-setup.service (the data disk's ownership, the OVF domain) with no error."""
    assert "ordering cycle" not in host.check_output("journalctl -b _PID=1 --no-pager -o cat")


def test_runs_as_unprivileged_user_on_jlink_runtime(host):
    """The JVM is the jlink runtime under /opt/darwinmail, not a system Java."""
    pid = main_pid(host)
    assert host.check_output("ps -o user= -p %d" % pid).strip() == "darwinmail"
    assert host.check_output("readlink /proc/%d/exe" % pid) == "/opt/darwinmail/runtime/bin/java"
    assert host.user("darwinmail").shell in ("/usr/sbin/nologin", "/sbin/nologin")


def test_no_system_java(host):
    assert host.run("command -v java").rc != 0
    assert not host.file("/usr/lib/jvm").exists
    release = host.file("/opt/darwinmail/runtime/release").content_string
    assert 'JAVA_VERSION="25' in release
    modules = host.check_output("/opt/darwinmail/runtime/bin/java --list-modules")
    assert "jdk.charsets" in modules and "jdk.compiler" not in modules


@pytest.mark.parametrize("prop,expected", [
    ("User", "darwinmail"),
    ("NoNewPrivileges", "yes"),
    ("ProtectSystem", "strict"),
    ("PrivateTmp", "yes"),
    ("Restart", "on-failure"),
    ("AmbientCapabilities", "cap_net_bind_service"),
    ("ReadWritePaths", "/var/lib/darwinmail"),
    ("RequiresMountsFor", "/var/lib/darwinmail"),
])
def test_unit_confinement(host, prop, expected):
    """Binding port 25 needs only CAP_NET_BIND_SERVICE; the server can write
    nowhere but its data disk."""
    value = host.check_output("systemctl show -p %s --value darwinmail.service" % prop)
    if prop in ("AmbientCapabilities", "ReadWritePaths", "RequiresMountsFor"):
        # lists: PrivateTmp adds /var/tmp to the mounts required
        assert expected in value.split()
        if prop == "AmbientCapabilities":
            assert value == expected, "more capabilities than binding low ports needs"
    else:
        assert value == expected


def wait_for_port(host, port, timeout=600):
    # A restart without the AOT cache under TCG on a busy host took over 180 s (the JVM compiles everything itself).
    deadline = time.time() + timeout
    while time.time() < deadline:
        if host.socket("tcp://0.0.0.0:%d" % port).is_listening:
            return
        time.sleep(1)
    raise AssertionError("port %d not listening after %d s" % (port, timeout))


AOT_CACHE = "/opt/darwinmail/runtime/lib/darwinmail.aot"


def test_jvm_settings_are_the_launchers(host):
    """One place decides the JVM's settings (bin/darwinmail, the launcher): the appliance adds none of its own. The
    image ships the AOT cache trained at bundle time at /opt/darwinmail (make-bundle.sh), and the JVM uses it: it
    says so in the service's journal."""
    cmdline = host.file("/proc/%d/cmdline" % main_pid(host)).content_string.replace("\0", " ")
    assert "-XX:+UseSerialGC" in cmdline and "-Xmx320m" in cmdline
    assert "-XX:+UseG1GC" not in cmdline and "MaxRAMPercentage" not in cmdline
    assert "-XX:AOTCache=%s" % AOT_CACHE in cmdline
    out = host.check_output("journalctl -b -u darwinmail.service --no-pager -o cat")
    assert "Using AOT-linked classes: true" in out


def test_the_commands_use_their_aot_cache(host):
    """`darwinmail` (the admin command, run as the service's user) uses the commands' cache shipped in the image."""
    log = "/tmp/darwinmail-cli-aot.log"
    out = host.check_output("rm -f %s; JDK_JAVA_OPTIONS=-Xlog:aot=info:file=%s darwinmail domain list 2>/dev/null; "
                            "cat %s" % (log, log, log))
    assert "Opened AOT cache /opt/darwinmail/runtime/lib/darwinmail-cli.aot" in out
    assert "Using AOT-linked classes: true" in out


def test_a_stale_aot_cache_does_not_stop_the_service(host):
    """A cache that does not match this JVM and class path (here: garbage, marked as trained in this folder so the
    launcher hands it to the JVM) is not used, and the service starts anyway. The shipped cache is put back after."""
    cache = AOT_CACHE
    host.check_output("mv %s %s.shipped && head -c 100000 /dev/urandom > %s" % (cache, cache, cache))
    try:
        host.check_output("systemctl restart darwinmail.service")
        wait_for_port(host, 25)
        assert host.check_output("systemctl show -p ActiveState --value darwinmail.service") == "active"
        cmdline = host.file("/proc/%d/cmdline" % main_pid(host)).content_string.replace("\0", " ")
        assert "-XX:AOTCache=%s" % cache in cmdline
    finally:
        host.check_output("mv -f %s.shipped %s && systemctl restart darwinmail.service" % (cache, cache))
        wait_for_port(host, 25)


def test_journal_has_startup_line(host):
    """`journalctl -u darwinmail` is where an administrator looks first."""
    out = host.check_output("journalctl -b -u darwinmail.service --no-pager -o cat")
    assert "Darwin Mail started as %s with data in /var/lib/darwinmail" % HOSTNAME in out


@pytest.mark.parametrize("unit", ["darwinmail-firstboot.service", "darwinmail-datadisk.service",
                                  "darwinmail-setup.service"])
def test_first_boot_units_succeeded(host, unit):
    assert host.check_output("systemctl show -p Result --value %s" % unit) == "success"
    assert host.check_output("systemctl show -p ActiveState --value %s" % unit) == "active"


def test_guest_os_is_what_the_ovf_declares(host, ova):
    """vSphere picks drivers and tools behaviour from the declared guest type."""
    with tarfile.open(ova) as tar:
        ovf = ET.fromstring(tar.extractfile(tar.getmembers()[0]).read())
    os_type = ovf.find(".//{http://schemas.dmtf.org/ovf/envelope/1}OperatingSystemSection").get(
        "{http://www.vmware.com/schema/ovf}osType")
    ident = host.system_info.distribution, host.system_info.release.split(".")[0]
    assert os_type == {("debian", "12"): "debian12_64Guest", ("almalinux", "9"): "rhel9_64Guest",
                       ("rocky", "9"): "rhel9_64Guest"}[ident]


def test_installed_server_is_the_version_the_ovf_declares(host, ova):
    """The version vSphere shows is the server inside."""
    with tarfile.open(ova) as tar:
        ovf = ET.fromstring(tar.extractfile(tar.getmembers()[0]).read())
    declared = ovf.find(".//{http://schemas.dmtf.org/ovf/envelope/1}ProductSection/"
                        "{http://schemas.dmtf.org/ovf/envelope/1}Version").text
    assert host.file("/opt/darwinmail/VERSION").content_string.strip() == declared


def test_console_shows_how_to_start(host):
    issue = host.file("/etc/issue").content_string
    assert "https://\\4:8443/" in issue
    assert "darwinmail domain add" in issue
