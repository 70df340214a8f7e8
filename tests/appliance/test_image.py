"""What the system disk carries (issue 22, "Small"): the drivers of the virtual hardware and nothing a VM never
uses (other hardware's drivers, documentation, manual pages, message catalogues, build leftovers).
appliance/scripts/build-base.sh and appliance/base/dpkg-excludes.cfg decide it."""
import pytest


def test_the_vmware_storage_and_network_drivers_drive_this_vm(host):
    """The copy under test has the OVA's hardware (PVSCSI disks, a vmxnet3 NIC): it booted from the PVSCSI disk and
    its network is up, so the kernel's drivers for both are loaded (or built in)."""
    loaded = host.check_output("cut -d' ' -f1 /proc/modules").split()
    builtin = host.check_output("cat /lib/modules/$(uname -r)/modules.builtin").split()
    for driver in ("vmw_pvscsi", "vmxnet3"):
        assert driver in loaded or any(b.endswith("/%s.ko" % driver) for b in builtin), driver


@pytest.mark.parametrize("module", [
    "vmw_vmci",                  # VMCI, the channel of VMware Tools' vsock
    "vmw_vsock_vmci_transport",  # vsock over VMCI
    "vmw_balloon",               # memory ballooning
    "ptp_vmw",                   # VMware's precision clock
    "ata_piix",                  # the IDE CD-ROM of a vApp's ISO transport
    "virtio_scsi",               # QEMU/KVM
    "virtio_net",
])
def test_the_kernel_has_the_other_virtual_hardware_drivers(host, module):
    """Devices QEMU does not offer here but VMware (or KVM) does: the modules are there to load."""
    assert host.run("modinfo -n %s" % module).rc == 0, module


def test_no_drivers_for_hardware_a_vm_never_has(host):
    """Sound, GPUs, wireless: none in the image (the generic kernel carried 400 MB of modules, most of them these)."""
    kernel = host.check_output("uname -r")
    for folder in ("sound", "drivers/gpu", "drivers/net/wireless", "drivers/bluetooth"):
        assert not host.check_output(
            "find /lib/modules/%s/kernel/%s -name '*.ko*' 2>/dev/null | head -n 1" % (kernel, folder)), folder


def test_no_documentation_manual_pages_or_message_catalogues(host):
    """Only the copyright files stay under /usr/share/doc; and dpkg keeps leaving these out on upgrades."""
    assert host.check_output("find /usr/share/doc -type f ! -name copyright | head -n 5") == ""
    assert host.check_output("find /usr/share/doc -mindepth 1 -maxdepth 1 | wc -l") != "0"
    assert host.check_output("find /usr/share/man -type f | head -n 5") == ""
    # base-files' postinst writes an empty info directory (/usr/share/info/dir).
    assert host.check_output("find /usr/share/info -type f ! -name dir | head -n 5") == ""
    assert host.check_output("find /usr/share/locale -type f ! -name locale.alias | head -n 5") == ""
    filters = host.check_output("cat /etc/dpkg/dpkg.cfg.d/*")
    assert "path-exclude=/usr/share/doc/*" in filters
    assert "path-exclude=/usr/share/locale/*" in filters


def test_no_build_leftovers(host):
    """No package caches or indexes, no Ansible files from the build."""
    assert host.check_output("find /var/cache/apt /var/lib/apt/lists -type f ! -name lock | head -n 5") == ""
    assert not host.file("/root/.ansible").exists
