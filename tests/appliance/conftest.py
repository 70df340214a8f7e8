"""Fixtures of the appliance tests.

APPLIANCE_OVA names the OVA under test (make appliance-test sets it); the
booted-appliance fixtures deploy it under QEMU the way VMware would: its
system disk, its blank data disk, the OVF properties as an OVF environment
ISO. They fail, never skip, when something is missing.

make appliance-test runs the tests on two pytest-xdist workers, grouped by
the VM they boot (pytest_collection_modifyitems below): a VM under TCG with
one emulator thread keeps one core busy, so two copies boot side by side on
the 2-core host in about the time of one.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


def _env(name):
    value = os.environ.get(name)
    if not value:
        raise pytest.UsageError("%s is not set (run: make appliance-test)" % name)
    return value


# The fixture that boots a VM -> the xdist group of every test that uses it (directly or through another fixture).
# A group runs on one worker, in file order, so that a VM is booted once and test_upgrade (which powers the first
# copy off) still comes after the other tests of that copy.
VM_GROUPS = (("node2", "cluster"), ("wizard_copy", "wizard"), ("appliance", "vm1"))


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks (--dist loadgroup)
def pytest_collection_modifyitems(items):
    for item in items:
        for fixture, group in VM_GROUPS:
            if fixture in item.fixturenames:
                item.add_marker(pytest.mark.xdist_group(group))
                break


@pytest.fixture(scope="session")
def ova():
    path = _env("APPLIANCE_OVA")
    assert os.path.isfile(path), path
    return path


@pytest.fixture(scope="session")
def appliance_base():
    return _env("APPLIANCE_BASE")


@pytest.fixture(scope="session")
def appliance_version():
    return _env("APPLIANCE_VERSION")


# --- the appliance deployed from the OVA and booted under QEMU ---------------

import secrets
import shutil
import subprocess
import tarfile
import time

import testinfra

from vm import VM, ovf_env_iso

DOMAIN = "darwin.test"
HOSTNAME = "mail." + DOMAIN
# Guest ports forwarded to 127.0.0.1:<free port>: SSH, the mail listeners,
# the admin UI, and 8081 for the firewall test (nothing may reach it).
FORWARDS = (22, 25, 587, 465, 143, 993, 110, 995, 8443, 8081)
TIMINGS = os.environ.get("APPLIANCE_TIMINGS")


def record(stage, seconds):
    line = "%s %.0f s exit=0 %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), seconds, stage)
    print("timing:", stage, "%.0f s" % seconds)
    if TIMINGS:
        with open(TIMINGS, "a") as f:
            f.write(line)


@pytest.fixture(scope="session")
def workdir():
    """A folder per pytest-xdist worker (w0, w1; main without xdist)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main").replace("gw", "w")
    path = os.path.join(_env("APPLIANCE_WORK"), worker)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


@pytest.fixture(scope="session")
def ova_disks(ova, workdir):
    """The OVA's two VMDKs, unpacked as the hypervisor would import them."""
    out = os.path.join(workdir, "ova")
    os.makedirs(out)
    with tarfile.open(ova) as tar:
        names = [m.name for m in tar.getmembers() if m.name.endswith(".vmdk")]
        tar.extractall(out, members=[m for m in tar.getmembers() if m.name.endswith(".vmdk")])
    system = os.path.join(out, next(n for n in names if n.endswith("-system.vmdk")))
    data = os.path.join(out, next(n for n in names if n.endswith("-data.vmdk")))
    return system, data


def deploy_disk(vmdk, path):
    """A writable copy of an OVA disk (a qcow2 overlay on the read-only VMDK)."""
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "vmdk", "-b", vmdk, path], check=True)
    return path


@pytest.fixture(scope="session")
def admin_key(workdir):
    key = os.path.join(workdir, "admin_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "appliance-test", "-f", key], check=True)
    return key


@pytest.fixture(scope="session")
def admin_password():
    return secrets.token_urlsafe(12)


@pytest.fixture(scope="session")
def ovf_iso(workdir, admin_key, admin_password):
    with open(admin_key + ".pub") as f:
        pub = f.read().strip()
    return ovf_env_iso(os.path.join(workdir, "ovf-env.iso"), {
        "appliance.hostname": HOSTNAME,
        "appliance.domain": DOMAIN,
        "appliance.admin_password": admin_password,
        "appliance.ssh_key": pub,
    })


def boot(workdir, name, system, data, iso, key):
    vm = VM(workdir, [system, data], iso=iso, forwards=FORWARDS, memory=2048, cpus=2,
            ssh_user="admin", ssh_key=key, name=name).start()
    record("%s boot to SSH" % name, vm.wait_ssh(900))
    # Ready for users: the SMTP banner answers through the forwarded port.
    # The JVM under TCG on a busy 2-core host takes minutes to start.
    record("%s boot to SMTP banner" % name, vm.wait_port(25, timeout=1800))
    return vm


@pytest.fixture(scope="session")
def deployed(workdir, ova_disks):
    """The first copy's disks: system from the OVA, the OVA's blank data disk."""
    system_vmdk, data_vmdk = ova_disks
    return (deploy_disk(system_vmdk, os.path.join(workdir, "vm1-system.qcow2")),
            deploy_disk(data_vmdk, os.path.join(workdir, "vm1-data.qcow2")))


@pytest.fixture(scope="session")
def appliance(workdir, deployed, ovf_iso, admin_key):
    """The first deployed copy, booted and serving mail."""
    vm = boot(workdir, "vm1", deployed[0], deployed[1], ovf_iso, admin_key)
    yield vm
    vm.stop()


@pytest.fixture(scope="session")
def host(appliance):
    return testinfra.get_host("ssh://%s" % appliance.name, ssh_config=appliance.ssh_config, sudo=True)


def listener_ports(host):
    """Configured listeners of /etc/darwinmail/darwinmail.toml: name -> port."""
    import tomllib
    conf = tomllib.loads(host.file("/etc/darwinmail/darwinmail.toml").content_string)
    return {k: int(v.rsplit(":", 1)[1]) for k, v in conf["listen"].items() if v}


def serving(vm, port):
    """Whether the guest port answers with a banner within a short time."""
    try:
        vm.wait_port(port, timeout=20)
        return True
    except TimeoutError:
        return False


def stored_on_data_disk(host, token):
    """Files under the data directory holding the token (message bodies are
    plain files in the blob store)."""
    return host.run("grep -rlF %s /var/lib/darwinmail" % token).stdout.split()


def create_user(host, address, password):
    r = host.run("printf '%%s\\n' %s | darwinmail user add %s --password-stdin" % (password, address))
    assert r.rc == 0, r.stderr


def served(host, vm, protocol):
    """Whether the appliance serves a retrieval protocol: its listener is
    configured and the server listens on it (IMAP and POP3 arrive after SMTP).
    A configured, listening port that does not answer is a failure, not a skip."""
    from mail import READERS
    port = READERS[protocol][0]
    if listener_ports(host).get(protocol) != port:
        return False
    if not host.check_output("ss -Hltn 'sport = :%d'" % port).strip():
        return False
    vm.wait_port(port, timeout=120)
    return True
