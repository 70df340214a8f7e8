"""Fixtures of the appliance tests.

APPLIANCE_OVA names the OVA under test (make appliance-test sets it); the
booted-appliance fixtures deploy it under QEMU the way VMware would: its
system disk, its blank data disk, the OVF properties as an OVF environment
ISO. They fail, never skip, when something is missing.
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
