"""A Darwin Mail appliance booted under QEMU with software emulation (TCG).

The VM gets the VMware virtual hardware of the OVA (PVSCSI disks, a vmxnet3
NIC), user-mode networking with port forwards bound to 127.0.0.1 on ports
chosen at run time, and an optional OVF environment ISO (the "iso" transport
of DSP0243) carrying the appliance's OVF properties.
Only the QEMU process this object started is ever stopped, by its PID.
"""
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from xml.sax.saxutils import quoteattr

QEMU = "qemu-system-x86_64"


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port(taken=()):
    """A loopback port that is free now and outside the kernel's ephemeral range.

    QEMU binds its forwards a moment after this returns; a port from the
    ephemeral range (what bind(0) hands out) can meanwhile become the local end
    of one of the many outgoing connections the tests make (ssh, smtplib), and
    QEMU then exits at start with "Could not set up host forwarding rule".
    """
    low, high = _ephemeral_range()
    candidates = range(20000, low) if low > 21000 else range(high + 1, 65536)
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.choice(candidates)
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port outside the ephemeral range")


def ovf_env_iso(path, properties):
    """Writes an ISO 9660 image holding ovf-env.xml with the given properties."""
    props = "\n".join(
        "    <Property oe:key=%s oe:value=%s/>" % (quoteattr(k), quoteattr(v))
        for k, v in properties.items())
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n'
           '<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"\n'
           '    xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"\n'
           '    oe:id="darwinmail">\n'
           '  <PropertySection>\n%s\n  </PropertySection>\n</Environment>\n' % props)
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "ovf-env.xml"), "w", encoding="utf-8") as f:
            f.write(xml)
        subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-V", "OVF ENV", "-J", "-r",
                        "-o", path, d], check=True)
    return path


class VM:
    def __init__(self, workdir, disks, iso=None, forwards=(22,), memory=2048, cpus=2,
                 ssh_user="admin", ssh_key=None, name="vm"):
        self.workdir = workdir
        self.disks = list(disks)
        self.iso = iso
        self.memory = memory
        self.cpus = cpus
        self.ssh_user = ssh_user
        self.ssh_key = ssh_key
        self.name = name
        self.ports = {}
        for guest in forwards:
            self.ports[guest] = free_port(taken=set(self.ports.values()))
        self.serial = os.path.join(workdir, name + "-serial.log")
        self.proc = None
        self.ssh_config = os.path.join(workdir, name + "-ssh_config")
        # ssh's master connection socket: a Unix socket path (at most 107 bytes), which ssh first binds under a
        # name 17 bytes longer than %C's 40. Inside the work folder its length depended on where the checkout is
        # (a clone in a mktemp folder, plus the xdist workers' folders, went over: every ssh then failed at once
        # with "too long for Unix domain socket"). A folder of its own in /tmp keeps it about 80 bytes.
        self.control_dir = tempfile.mkdtemp(prefix="dm-ssh-", dir="/tmp")

    def command(self):
        fwd = ",".join("hostfwd=tcp:127.0.0.1:%d-:%d" % (host, guest) for guest, host in self.ports.items())
        # thread=single: one host thread runs both vCPUs. With multi-threaded TCG the JVM in the guest died now and
        # then at the entry of freshly JIT-compiled methods (SIGILL / SIGSEGV at offset 0-4, three times in one boot
        # of the upgrade test): code one vCPU patches while the other runs it is not always seen in time by the
        # emulator. Real hardware (VMware) keeps x86 cross-modifying-code rules; this is a test-rig setting only.
        cmd = [QEMU, "-accel", "tcg,thread=single", "-cpu", "max", "-m", str(self.memory), "-smp", str(self.cpus),
               "-nodefaults", "-display", "none", "-vga", "std", "-serial", "file:" + self.serial,
               "-monitor", "none", "-device", "pvscsi,id=scsi0",
               "-netdev", "user,id=n0," + fwd, "-device", "vmxnet3,netdev=n0"]
        for i, disk in enumerate(self.disks):
            fmt = "qcow2" if disk.endswith(".qcow2") else "raw"
            cmd += ["-drive", "file=%s,if=none,id=d%d,format=%s,discard=unmap,cache=unsafe" % (disk, i, fmt),
                    "-device", "scsi-hd,drive=d%d,bus=scsi0.0,scsi-id=%d,lun=0%s"
                    % (i, i, ",bootindex=0" if i == 0 else "")]
        if self.iso:
            cmd += ["-drive", "file=%s,if=none,id=cd0,media=cdrom,readonly=on" % self.iso,
                    "-device", "scsi-cd,drive=cd0,bus=scsi0.0,scsi-id=7,lun=0"]
        return cmd

    def start(self):
        with open(self.ssh_config, "w") as f:
            f.write("Host %s\n  HostName 127.0.0.1\n  Port %d\n  User %s\n  IdentityFile %s\n"
                    "  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
                    "  LogLevel ERROR\n  BatchMode yes\n  ConnectTimeout 20\n"
                    "  ControlMaster auto\n  ControlPath %s/%%C\n  ControlPersist 300\n"
                    % (self.name, self.ports[22], self.ssh_user, self.ssh_key, self.control_dir))
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=open(os.path.join(self.workdir, self.name + "-qemu.log"), "w"),
                                     stderr=subprocess.STDOUT)
        return self

    def ssh(self, command, check=True, input=None, timeout=600):
        r = subprocess.run(["ssh", "-F", self.ssh_config, self.name, command], input=input,
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("ssh %r failed (%d): %s%s" % (command, r.returncode, r.stdout, r.stderr))
        return r

    def qemu_log(self):
        try:
            with open(os.path.join(self.workdir, self.name + "-qemu.log")) as f:
                return f.read()[-2000:].strip()
        except OSError:
            return ""

    def wait_ssh(self, timeout=900):
        deadline = time.monotonic() + timeout
        restarts = 0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                said = self.qemu_log()
                # A forward whose port was taken between free_port() and QEMU's bind: new ports, once more.
                if "host forwarding" in said and restarts < 2 and time.monotonic() - self.started < 60:
                    restarts += 1
                    taken = set()
                    for guest in self.ports:
                        self.ports[guest] = free_port(taken=taken)
                        taken.add(self.ports[guest])
                    self.start()
                    continue
                raise RuntimeError("QEMU exited with %s: %s; see %s"
                                   % (self.proc.returncode, said or "(it printed nothing)", self.serial))
            try:
                if self.ssh("true", check=False, timeout=60).returncode == 0:
                    return time.monotonic() - self.started
            except subprocess.TimeoutExpired:
                pass
            time.sleep(3)
        raise TimeoutError("no SSH after %d s; see %s" % (timeout, self.serial))

    def wait_port(self, guest_port, timeout=600, banner=True):
        """Waits until the forwarded port answers with a banner (QEMU accepts
        connections on the host side before the guest listens)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.ports[guest_port]), timeout=10) as s:
                    if not banner or s.recv(1):
                        return time.monotonic() - self.started
            except OSError:
                pass
            time.sleep(3)
        raise TimeoutError("port %d silent after %d s" % (guest_port, timeout))

    def stop(self, timeout=300):
        try:
            if self.proc is not None and self.proc.poll() is None:
                self._power_off(timeout)
        finally:
            shutil.rmtree(self.control_dir, ignore_errors=True)

    def _power_off(self, timeout):
        try:
            self.ssh("sudo systemctl poweroff", check=False, timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        subprocess.run(["ssh", "-F", self.ssh_config, "-O", "exit", self.name], capture_output=True)
