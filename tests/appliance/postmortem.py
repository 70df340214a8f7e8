"""What a stopped VM's own journal says, read from its system disk on the host.

The wizard's copy has no SSH key: when it does not come up, the serial console is all a test sees. This reads the
guest's persistent journal (/var/log/journal on the system disk) after QEMU has stopped: the qcow2 overlay is
converted to a raw file, its first partition (the root file system, 1 MiB in: appliance/scripts/build-base.sh) is
attached read-only to a loop device and mounted without journal replay, and the host's journalctl reads it.
Root only (losetup, mount); any failure here is reported as text, never raised: it only adds to another failure.
"""
import os
import subprocess
import tempfile

ROOT_OFFSET = 1024 * 1024  # build-base.sh: one partition starting at sector 2048


def _run(cmd, timeout=300):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def journal(system_disk, workdir, name, lines=150):
    """The last `lines` lines of interest of every boot in the guest's journal, or why they could not be read."""
    raw = os.path.join(workdir, name + "-postmortem.raw")
    mnt = tempfile.mkdtemp(prefix=name + "-postmortem-", dir=workdir)
    loop = None
    try:
        r = _run(["qemu-img", "convert", "-O", "raw", system_disk, raw], timeout=600)
        if r.returncode != 0:
            return "post-mortem: qemu-img convert failed: " + r.stderr.strip()
        r = _run(["losetup", "-r", "-o", str(ROOT_OFFSET), "--show", "-f", raw])
        if r.returncode != 0:
            return "post-mortem: losetup failed: " + r.stderr.strip()
        loop = r.stdout.strip()
        r = _run(["mount", "-o", "ro,noload", loop, mnt])
        if r.returncode != 0:
            return "post-mortem: mount failed: " + r.stderr.strip()
        jdir = os.path.join(mnt, "var", "log", "journal")
        if not os.path.isdir(jdir):
            return "post-mortem: the guest keeps no journal on disk (%s missing)" % jdir
        full = os.path.join(workdir, name + "-journal.txt")
        r = _run(["journalctl", "-D", jdir, "--no-pager", "-o", "short-monotonic"])
        with open(full, "w") as f:
            f.write(r.stdout)
        # The boots, then what matters for "the server never came up": the mail service, the setup units, systemd's
        # own complaints about jobs and units.
        boots = _run(["journalctl", "-D", jdir, "--no-pager", "--list-boots"]).stdout.strip()
        keys = ("darwinmail", "Darwin Mail", "ordering cycle", "Job ", "Failed", "failed", "Dependency",
                "Timed out", "timed out", "OOM", "Out of memory", "Killed process", "segfault")
        picked = [line for line in r.stdout.splitlines() if any(k in line for k in keys)]
        return "post-mortem of %s's journal (whole journal: %s)\nboots:\n%s\n%s" % (
            name, full, boots, "\n".join(picked[-lines:]))
    except Exception as e:  # only ever adds to another failure
        return "post-mortem: %s: %s" % (type(e).__name__, e)
    finally:
        _run(["umount", mnt])
        if loop:
            _run(["losetup", "-d", loop])
        try:
            os.rmdir(mnt)
        except OSError:
            pass
        try:
            os.remove(raw)
        except OSError:
            pass


def serial_tail(vm, lines=40):
    try:
        with open(vm.serial, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return "(no serial log)"
    return "\n".join(text.splitlines()[-lines:])
