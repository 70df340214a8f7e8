#!/usr/bin/python3
"""Packs the appliance into an OVA (OVF 1.0).

  make-ova.py --system DISK --out darwinmail-VERSION.ova --version V --base debian12|el9

The system disk (any format qemu-img reads: the qcow2 Packer built here, or a
VMDK exported by the production build) becomes a streamOptimized VMDK; a blank
64 GB data disk is added (the datadisk role formats it on first boot); the
descriptor comes from appliance/ovf/darwinmail.ovf.tmpl; the manifest lists
SHA-256 digests; the tar (USTAR) holds the descriptor first, then the manifest
and the disks (DSP0243 §5.3).
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "..", "ovf", "darwinmail.ovf.tmpl")
# CIM operating system ids (DSP1043) and VMware guest ids.
OS = {
    "debian12": (96, "debian12_64Guest", "Debian GNU/Linux 12 (64-bit)"),
    "el9": (80, "rhel9_64Guest", "Red Hat Enterprise Linux 9 compatible (AlmaLinux/Rocky, 64-bit)"),
}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def virtual_size(path):
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", path],
                                     check=True, capture_output=True, text=True).stdout)
    return info["virtual-size"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--system", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--base", choices=sorted(OS), required=True)
    p.add_argument("--git-commit", default="unknown")
    p.add_argument("--data-gb", type=int, default=64)
    p.add_argument("--cpus", type=int, default=2)
    p.add_argument("--memory-mb", type=int, default=4096)
    a = p.parse_args()

    stem = os.path.basename(a.out)[:-len(".ova")] if a.out.endswith(".ova") else os.path.basename(a.out)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(a.out))) as tmp:
        system_vmdk = os.path.join(tmp, stem + "-system.vmdk")
        data_vmdk = os.path.join(tmp, stem + "-data.vmdk")
        subprocess.run(["qemu-img", "convert", "-O", "vmdk", "-o",
                        "subformat=streamOptimized,adapter_type=lsilogic", a.system, system_vmdk], check=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "vmdk", "-o",
                        "subformat=streamOptimized,adapter_type=lsilogic", data_vmdk, "%dG" % a.data_gb], check=True)
        os_id, os_type, os_desc = OS[a.base]
        with open(TEMPLATE, encoding="utf-8") as f:
            ovf = f.read().format(
                system_file=os.path.basename(system_vmdk), system_file_size=os.path.getsize(system_vmdk),
                data_file=os.path.basename(data_vmdk), data_file_size=os.path.getsize(data_vmdk),
                system_capacity=virtual_size(system_vmdk), data_capacity=virtual_size(data_vmdk),
                version=escape(a.version), base=escape(os_desc), git_commit=escape(a.git_commit),
                os_cim_id=os_id, os_vmw_type=os_type, os_description=escape(os_desc),
                cpus=a.cpus, memory_mb=a.memory_mb)
        ovf_path = os.path.join(tmp, stem + ".ovf")
        with open(ovf_path, "w", encoding="utf-8") as f:
            f.write(ovf)
        members = [ovf_path, system_vmdk, data_vmdk]
        mf_path = os.path.join(tmp, stem + ".mf")
        with open(mf_path, "w", encoding="ascii") as f:
            for m in members:
                f.write("SHA256(%s)= %s\n" % (os.path.basename(m), sha256(m)))
        order = [ovf_path, mf_path, system_vmdk, data_vmdk]
        with tarfile.open(a.out + ".tmp", "w", format=tarfile.USTAR_FORMAT) as tar:
            for m in order:
                ti = tar.gettarinfo(m, arcname=os.path.basename(m))
                ti.uid = ti.gid = 64
                ti.uname = ti.gname = "someone"
                ti.mode = 0o644
                with open(m, "rb") as f:
                    tar.addfile(ti, f)
        os.replace(a.out + ".tmp", a.out)
    print("make-ova: %s (%.0f MiB)" % (a.out, os.path.getsize(a.out) / 2**20))
    return 0


if __name__ == "__main__":
    sys.exit(main())
