"""The first-run wizard on a copy deployed with no OVF properties (issue 17): the setup code is read from the VM's
console (its serial port), the wizard is completed through the forwarded admin port 8443 with an HTTP client that
pins the certificate fingerprint the console showed, then the mailbox it created receives mail over SMTP and reads
it over IMAP; the next boot shows no code and the wizard's routes are gone.

The copy has no SSH key and no password from OVF properties: everything here goes through the ports a user would
use. Its own VM (vm3), its own disks; it runs after the other modules (files run in name order).
"""
import hashlib
import http.client
import json
import os
import re
import secrets
import ssl
import time

import pytest

from conftest import FORWARDS, deploy_disk, record
from mail import imap_messages, send
from postmortem import journal, serial_tail
from vm import VM

DOMAIN = "wizard.test"
MAILBOX = "ada@" + DOMAIN
CODE_LINE = re.compile(r"Setup code:\s+([A-Z0-9-]{8,16})\s")
FINGERPRINT_LINE = re.compile(r"Certificate SHA-256: ([0-9A-F:]{95})")


def console(vm):
    """What the VM has written to its serial console so far (QEMU creates the file a moment after it starts)."""
    try:
        with open(vm.serial, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def wait_console(vm, pattern, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = pattern.search(console(vm))
        if m:
            return m
        if vm.proc.poll() is not None:
            raise RuntimeError("QEMU exited with %s; see %s" % (vm.proc.returncode, vm.serial))
        time.sleep(3)
    raise TimeoutError("%r not on the console after %d s; see %s" % (pattern.pattern, timeout, vm.serial))


def diagnosed(vm, system, workdir, step):
    """Runs step(); when it times out, the VM is stopped and the error carries the console's last lines and what
    the guest's own journal says (this copy has no SSH to ask it)."""
    try:
        return step()
    except TimeoutError as e:
        power_cut(vm)
        raise TimeoutError("%s\n--- %s serial console, last lines:\n%s\n--- %s" % (
            e, vm.name, serial_tail(vm), journal(system, workdir, vm.name))) from None


def power_cut(vm):
    """No SSH on this copy: the VM is stopped as a power cut (acknowledged mail is durable by then)."""
    vm.proc.terminate()
    try:
        vm.proc.wait(60)
    except Exception:
        vm.proc.kill()
        vm.proc.wait()
    vm.stop()  # QEMU has exited: only forgets the ssh master folder


class Admin:
    """The admin API over HTTPS through the forwarded port, pinned to the console's certificate fingerprint."""

    def __init__(self, vm, fingerprint):
        self.port = vm.ports[8443]
        self.fingerprint = fingerprint
        self.cookie = None
        self.csrf = None

    def request(self, method, path, body=None):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # self-signed: checked below against the console's fingerprint
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=120)
        try:
            headers = {"Host": "127.0.0.1:%d" % self.port}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            if self.cookie:
                headers["Cookie"] = self.cookie
            if self.csrf:
                headers["X-CSRF-Token"] = self.csrf
            c.request(method, path, body=data, headers=headers)
            seen = hashlib.sha256(c.sock.getpeercert(binary_form=True)).hexdigest().upper()
            assert ":".join(seen[i:i + 2] for i in range(0, 64, 2)) == self.fingerprint, \
                "the admin port's certificate is not the one the console names"
            r = c.getresponse()
            text = r.read().decode("utf-8", "replace")
            cookie = r.getheader("Set-Cookie")
            if cookie:
                self.cookie = cookie.split(";", 1)[0]
            return r.status, text
        finally:
            c.close()

    def post(self, path, body):
        status, text = self.request("POST", path, body)
        assert status == 200, (path, status, text)
        return json.loads(text)


def wait_https(vm, timeout):
    """QEMU accepts on the host side before the guest listens: wait for a TLS handshake to complete."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            c = http.client.HTTPSConnection("127.0.0.1", vm.ports[8443], context=ctx, timeout=20)
            c.request("GET", "/setup/")
            c.getresponse().read()
            c.close()
            return
        except (OSError, http.client.HTTPException):
            time.sleep(3)
    raise TimeoutError("admin port silent after %d s" % timeout)


@pytest.fixture(scope="module")
def wizard_copy(ova_disks, workdir, admin_key):
    system = deploy_disk(ova_disks[0], os.path.join(workdir, "vm3-system.qcow2"))
    data = deploy_disk(ova_disks[1], os.path.join(workdir, "vm3-data.qcow2"))
    vm = VM(workdir, [system, data], iso=None, forwards=FORWARDS, memory=2048, cpus=2, ssh_user="admin",
            ssh_key=admin_key, name="vm3").start()
    yield vm, system, data
    power_cut(vm)


@pytest.fixture(scope="module")
def set_up(wizard_copy, workdir):
    vm, system = wizard_copy[0], wizard_copy[1]
    start = time.monotonic()
    code = diagnosed(vm, system, workdir, lambda: wait_console(vm, CODE_LINE, 1800)).group(1)
    fingerprint = wait_console(vm, FINGERPRINT_LINE, 60).group(1)
    record("vm3 boot to the setup code on the console", time.monotonic() - start)
    diagnosed(vm, system, workdir, lambda: wait_https(vm, 600))
    admin = Admin(vm, fingerprint)

    status, text = admin.request("POST", "/api/setup/code", {"code": "AAAAA-BBBBB"})
    assert status == 422 and "not the setup code" in text, (status, text)

    start = time.monotonic()
    admin.csrf = admin.post("/api/setup/code", {"code": code})["csrf"]
    admin_password = secrets.token_urlsafe(16)
    admin.post("/api/setup/admin", {"name": "admin", "displayName": "Appliance admin", "password": admin_password})
    admin.post("/api/setup/host", {"hostname": "mail." + DOMAIN, "domain": DOMAIN, "acceptWarnings": True})
    # The network as the VM has it: QEMU's user network gives 10.0.2.15 with the gateway 10.0.2.2.
    status, text = admin.request("GET", "/api/setup/network")
    assert status == 200, text
    network = json.loads(text)
    assert network["address"] == "10.0.2.15" and network["gateway"] == "10.0.2.2", network
    assert network["behindNat"] is True
    admin.post("/api/setup/network", {})
    admin.post("/api/setup/checks/done", {})
    admin.post("/api/setup/tls/keep", {})
    status, text = admin.request("GET", "/api/setup/dns")
    assert status == 200 and ("mail." + DOMAIN) in text, text
    admin.post("/api/setup/dns", {})
    password = secrets.token_urlsafe(12)
    admin.post("/api/setup/mailbox", {"mailbox": MAILBOX, "password": password})
    admin.post("/api/setup/finish", {})
    record("vm3 wizard through the forwarded admin port", time.monotonic() - start)
    return dict(vm=vm, code=code, fingerprint=fingerprint, password=password, admin=admin,
                admin_password=admin_password)


def test_console_shows_the_code_url_and_fingerprint(set_up):
    text = console(set_up["vm"])
    assert "Finish setting up in a browser: https://" in text and ":8443/setup/" in text
    assert set_up["fingerprint"] in text


def test_the_wizard_made_a_mailbox_that_receives_mail(set_up):
    vm = set_up["vm"]
    token = send(vm, MAILBOX)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if any(token in m for m in imap_messages(vm, MAILBOX, set_up["password"])):
            return
        time.sleep(3)
    raise AssertionError("the message sent to %s never arrived in its INBOX" % MAILBOX)


def test_after_setup_the_code_is_refused_and_the_console_says_done(set_up):
    admin = Admin(set_up["vm"], set_up["fingerprint"])
    status, _ = admin.request("POST", "/api/setup/code", {"code": set_up["code"]})
    assert status == 404
    wait_console(set_up["vm"], re.compile(r"setup is done: the setup code is gone"), 120)


def test_next_boot_shows_no_code(set_up, wizard_copy, workdir, admin_key):
    vm, system, data = wizard_copy
    power_cut(vm)
    start = time.monotonic()
    vm4 = VM(workdir, [system, data], iso=None, forwards=FORWARDS, memory=2048, cpus=2, ssh_user="admin",
             ssh_key=admin_key, name="vm3-second-boot").start()
    try:
        diagnosed(vm4, system, workdir, lambda: vm4.wait_port(25, timeout=1800))
        diagnosed(vm4, system, workdir, lambda: wait_https(vm4, 600))
        record("vm3 second boot to SMTP banner", time.monotonic() - start)
        status, _ = Admin(vm4, set_up["fingerprint"]).request("GET", "/setup/")
        assert status == 404
        # the console has shown its login prompt by now; no code on it
        assert not CODE_LINE.search(console(vm4))
        # the mailbox the wizard made is still there
        imap_messages(vm4, MAILBOX, set_up["password"])
    finally:
        power_cut(vm4)
