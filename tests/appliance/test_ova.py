"""The OVA the customer imports: structure, manifest and virtual hardware.

No OVF validator is installable here (no ovftool, no schema), so this checks
what vSphere and Workstation rely on when importing: the tar layout, the
manifest digests, the references and disk capacities, and the hardware and
properties the appliance needs (ARCHITECTURE.md, "The appliance build path").
"""
import hashlib
import json
import os
import subprocess
import tarfile
import xml.etree.ElementTree as ET

import pytest

NS = {
    "ovf": "http://schemas.dmtf.org/ovf/envelope/1",
    "rasd": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData",
    "vmw": "http://www.vmware.com/schema/ovf",
}
OVF = "{%s}" % NS["ovf"]
GiB = 2**30


@pytest.fixture(scope="module")
def members(ova):
    with tarfile.open(ova) as tar:
        return tar.getmembers()


@pytest.fixture(scope="module")
def envelope(ova, members):
    with tarfile.open(ova) as tar:
        return ET.fromstring(tar.extractfile(members[0]).read())


def items(envelope):
    return envelope.findall(".//ovf:VirtualHardwareSection/ovf:Item", NS)


def rasd(item, name):
    e = item.find("rasd:" + name, NS)
    return None if e is None else e.text


def test_descriptor_comes_first_then_manifest(members):
    """vSphere streams an OVA: the descriptor must be the first tar member."""
    names = [m.name for m in members]
    assert names[0].endswith(".ovf")
    assert names[1].endswith(".mf")
    assert all(m.isreg() for m in members)
    assert sorted(n for n in names if n.endswith(".vmdk")) == sorted(names[2:])


def test_manifest_digests_match_every_file(ova, members):
    """An import fails (or is tampered with) when a digest is wrong or missing."""
    with tarfile.open(ova) as tar:
        manifest = tar.extractfile(members[1]).read().decode()
        listed = {}
        for line in manifest.splitlines():
            algo_name, digest = line.split("= ")
            assert algo_name.startswith("SHA256(") and algo_name.endswith(")")
            listed[algo_name[7:-1]] = digest
        assert set(listed) == {m.name for m in members if not m.name.endswith(".mf")}
        for m in members:
            if m.name in listed:
                h = hashlib.sha256()
                f = tar.extractfile(m)
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
                assert h.hexdigest() == listed[m.name], m.name


def test_references_name_the_files_with_their_sizes(envelope, members):
    sizes = {m.name: m.size for m in members}
    refs = envelope.findall("ovf:References/ovf:File", NS)
    assert len(refs) == 2
    for ref in refs:
        assert int(ref.get(OVF + "size")) == sizes[ref.get(OVF + "href")]


def test_two_stream_optimized_disks_of_16_and_64_gib(ova, envelope, members):
    """System disk 16 GB, data disk 64 GB (ARCHITECTURE.md, "The appliance build path"), both streamOptimized."""
    disks = {d.get(OVF + "diskId"): d for d in envelope.findall("ovf:DiskSection/ovf:Disk", NS)}
    assert set(disks) == {"system", "data"}
    assert int(disks["system"].get(OVF + "capacity")) == 16 * GiB
    assert int(disks["data"].get(OVF + "capacity")) == 64 * GiB
    for d in disks.values():
        assert d.get(OVF + "format").endswith("#streamOptimized")
    with tarfile.open(ova) as tar:
        for m in members[2:]:
            head = tar.extractfile(m).read(2048)
            assert head[:4] == b"KDMV", m.name
            assert b'createType="streamOptimized"' in head, m.name


def test_the_ova_is_under_300_mb(ova):
    """What an administrator downloads and uploads to vSphere (issue 22, "Small": 377 MB before the cloud kernel,
    the dpkg path filters and the Perl-free merged /usr)."""
    assert os.path.getsize(ova) < 300 * 10**6


def test_data_disk_is_blank(ova, members, tmp_path):
    """A blank data disk is what the first boot formats; one carrying data
    would be mounted as someone's mailboxes."""
    refs = {}
    with tarfile.open(ova) as tar:
        data = next(m for m in members if m.name.endswith("-data.vmdk"))
        tar.extract(data, tmp_path)
        refs = json.loads(subprocess.run(["qemu-img", "map", "--output=json", str(tmp_path / data.name)],
                                         check=True, capture_output=True, text=True).stdout)
    assert refs and not any(r["data"] for r in refs)


@pytest.mark.parametrize("resource_type,sub_type,quantity", [
    ("3", None, "2"),             # 2 vCPU
    ("4", None, "4096"),          # 4096 MB
    ("6", "VirtualSCSI", None),   # PVSCSI controller
    ("10", "VmxNet3", None),      # vmxnet3 NIC
])
def test_virtual_hardware(envelope, resource_type, sub_type, quantity):
    found = [i for i in items(envelope) if rasd(i, "ResourceType") == resource_type]
    assert len(found) == 1
    if sub_type:
        assert rasd(found[0], "ResourceSubType") == sub_type
    if quantity:
        assert rasd(found[0], "VirtualQuantity") == quantity
    if resource_type == "4":
        assert rasd(found[0], "AllocationUnits") == "byte * 2^20"


def test_both_disks_hang_on_the_pvscsi_controller(envelope):
    controller = next(i for i in items(envelope) if rasd(i, "ResourceType") == "6")
    disks = [i for i in items(envelope) if rasd(i, "ResourceType") == "17"]
    assert sorted(rasd(d, "HostResource") for d in disks) == ["ovf:/disk/data", "ovf:/disk/system"]
    assert all(rasd(d, "Parent") == rasd(controller, "InstanceID") for d in disks)
    assert sorted(rasd(d, "AddressOnParent") for d in disks) == ["0", "1"]


def test_guest_type_matches_the_base(envelope, appliance_base):
    os_section = envelope.find(".//ovf:OperatingSystemSection", NS)
    expected = {"debian12": ("96", "debian12_64Guest"), "el9": ("80", "rhel9_64Guest")}[appliance_base]
    assert (os_section.get(OVF + "id"), os_section.get("{%s}osType" % NS["vmw"])) == expected


def test_product_section_and_unattended_setup_properties(envelope, appliance_version):
    """The OVF properties are how an administrator sets the appliance up
    unattended (and, with the PostgreSQL and S3 ones, joins a cluster:
    test_cluster.py); every secret must be masked in the vSphere UI."""
    product = envelope.find(".//ovf:ProductSection", NS)
    assert product.find("ovf:Product", NS).text == "Darwin Mail"
    assert product.find("ovf:Version", NS).text == appliance_version
    props = {p.get(OVF + "key"): p for p in product.findall("ovf:Property", NS)}
    assert set(props) == {"appliance.hostname", "appliance.domain", "appliance.admin_password",
                          "appliance.ssh_key", "appliance.ip", "appliance.gateway", "appliance.dns",
                          "appliance.pg_url", "appliance.pg_user", "appliance.pg_password",
                          "appliance.s3_endpoint", "appliance.s3_bucket", "appliance.s3_region",
                          "appliance.s3_access_key", "appliance.s3_secret_key", "appliance.s3_path_style"}
    assert all(p.get(OVF + "userConfigurable") == "true" for p in props.values())
    masked = {k for k, p in props.items() if p.get(OVF + "password") == "true"}
    assert masked == {"appliance.admin_password", "appliance.pg_password", "appliance.s3_secret_key"}
    hw = envelope.find(".//ovf:VirtualHardwareSection", NS)
    assert hw.get(OVF + "transport") == "com.vmware.guestInfo"
