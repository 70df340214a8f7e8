"""Upgrade by swapping the data disk (ARCHITECTURE.md, "The appliance build path"): power off, deploy the
appliance again from the OVA, attach the old data disk instead of the new
blank one, boot. Mailboxes, accounts, certificate and settings survive; the
new copy still gets its own SSH keys and machine-id.

This module powers the first copy off, so it runs last (files run in name order).
"""
import os
import secrets
import time

import pytest
import testinfra

from conftest import DOMAIN, boot, create_user, deploy_disk, record, served, stored_on_data_disk
from mail import READERS, send

USER = "carol@" + DOMAIN


def facts(host):
    return {
        "machine_id": host.file("/etc/machine-id").content_string.strip(),
        "host_key": host.file("/etc/ssh/ssh_host_ed25519_key.pub").content_string.split()[1],
        "cert": host.check_output("openssl x509 -noout -fingerprint -sha256 -in "
                                  "/var/lib/darwinmail/tls/cert.pem"),
        "fs_uuid": host.check_output("findmnt -no UUID /var/lib/darwinmail"),
        "users": host.check_output("darwinmail user list"),
    }


@pytest.fixture(scope="module")
def swapped(appliance, host, deployed, ova_disks, workdir, ovf_iso, admin_key):
    password = secrets.token_urlsafe(12)
    create_user(host, USER, password)
    token = send(appliance, USER)
    assert stored_on_data_disk(host, token)
    before = facts(host)
    retrieval = [p for p in sorted(READERS) if served(host, appliance, p)]

    start = time.monotonic()
    appliance.stop()
    assert appliance.proc.returncode is not None
    record("vm1 power off", time.monotonic() - start)

    start = time.monotonic()
    system2 = deploy_disk(ova_disks[0], os.path.join(workdir, "vm2-system.qcow2"))
    vm2 = boot(workdir, "vm2", system2, deployed[1], ovf_iso, admin_key)
    record("disk swap: new copy booted with the old data disk", time.monotonic() - start)
    host2 = testinfra.get_host("ssh://%s" % vm2.name, ssh_config=vm2.ssh_config, sudo=True)
    yield dict(before=before, after=facts(host2), host=host2, vm=vm2, token=token,
               password=password, retrieval=retrieval)
    vm2.stop()


def test_same_data_disk_not_reformatted(swapped):
    assert swapped["after"]["fs_uuid"] == swapped["before"]["fs_uuid"]
    log = swapped["host"].check_output("journalctl -b -u darwinmail-datadisk.service --no-pager -o cat")
    assert "formatting" not in log


def test_accounts_survive(swapped):
    assert USER in swapped["after"]["users"]
    assert swapped["after"]["users"] == swapped["before"]["users"]


def test_message_survives_on_disk(swapped):
    assert stored_on_data_disk(swapped["host"], swapped["token"])


def test_message_readable_after_upgrade(swapped):
    if not swapped["retrieval"]:
        pytest.skip("the server serves neither IMAP nor POP3 yet")
    for protocol in swapped["retrieval"]:
        messages = READERS[protocol][1](swapped["vm"], USER, swapped["password"])
        assert any(swapped["token"] in m for m in messages), protocol


def test_certificate_kept(swapped):
    assert swapped["after"]["cert"] == swapped["before"]["cert"]


def test_new_copy_has_its_own_identity(swapped):
    """Two deployments of one OVA never share SSH host keys or machine-id."""
    assert swapped["after"]["host_key"] != swapped["before"]["host_key"]
    assert swapped["after"]["machine_id"] != swapped["before"]["machine_id"]


def test_new_copy_serves_mail(swapped):
    host = swapped["host"]
    assert host.service("darwinmail").is_running
    token = send(swapped["vm"], USER)
    assert stored_on_data_disk(host, token)
