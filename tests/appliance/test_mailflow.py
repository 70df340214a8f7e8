"""Mail through the VM: from the host, through the forwarded ports, to a user
created with the `darwinmail` command inside the appliance."""
import secrets

import pytest

from conftest import DOMAIN, create_user, served, stored_on_data_disk
from mail import READERS, send

USER = "alice@" + DOMAIN


@pytest.fixture(scope="module")
def alice(host):
    password = secrets.token_urlsafe(12)
    create_user(host, USER, password)
    return USER, password


@pytest.fixture(scope="module")
def token(appliance, alice):
    return send(appliance, USER)


def test_domain_from_ovf_property_exists(host):
    assert DOMAIN in host.check_output("darwinmail domain list").split()


def test_user_created_with_the_admin_command(host, alice):
    assert USER in host.check_output("darwinmail user list")


def test_smtp_accepts_and_stores_on_the_data_disk(host, token):
    """250 after the message is durable (ARCHITECTURE.md, "Durability rules"): the body is on the data disk."""
    assert stored_on_data_disk(host, token)


def test_mail_for_unknown_domain_is_refused(appliance):
    import smtplib
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(appliance, "bob@not-hosted.example")


@pytest.mark.parametrize("protocol", sorted(READERS))
def test_read_back(host, appliance, alice, token, protocol):
    if not served(host, appliance, protocol):
        pytest.skip("the server does not serve %s yet (no listener on port %d)" % (protocol, READERS[protocol][0]))
    messages = READERS[protocol][1](appliance, *alice)
    assert any(token in m for m in messages)
