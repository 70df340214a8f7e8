"""The admin console on 8443 after a first boot whose OVF properties give the
domain and an admin password: the boot set the server up with `darwinmail
setup` (the wizard's settings path), so there is no setup code and no wizard,
and the admin signs in with the OVF password."""
import http.client
import json
import ssl
import time

import pytest

from conftest import record


def _request(appliance, method, path, body=None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the appliance's self-signed certificate
    c = http.client.HTTPSConnection("127.0.0.1", appliance.ports[8443], context=ctx, timeout=60)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        c.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


@pytest.fixture(scope="module", autouse=True)
def console_ready(appliance):
    """Waits until the console answers a request. The boot waits for the SMTP banner only; the first TLS handshake
    of a cold JVM under software emulation on a busy host can outlast the console's 30 s request deadline (once in a
    run of 3 December: the connection closed without an answer), which a real VMware host does not see."""
    deadline = time.monotonic() + 600
    while True:
        try:
            _request(appliance, "GET", "/")
            break
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise
            time.sleep(5)
    record("vm1 console answering", time.monotonic() - appliance.started)


def test_unattended_setup_closed_the_wizard(host, appliance):
    assert not host.file("/var/lib/darwinmail/run/setup-code").exists
    status, _ = _request(appliance, "GET", "/setup/")
    assert status == 404


def test_admin_signs_in_with_the_ovf_password(appliance, admin_password):
    status, body = _request(appliance, "POST", "/api/login", {"name": "admin", "password": admin_password})
    assert status == 200, body
    status, _ = _request(appliance, "POST", "/api/login", {"name": "admin", "password": admin_password + "x"})
    assert status in (401, 403, 429)


def test_postmaster_mailbox_and_abuse_alias_exist(host):
    assert "postmaster@" in host.check_output("darwinmail user list")
    assert "abuse@" in host.check_output("darwinmail alias list")
