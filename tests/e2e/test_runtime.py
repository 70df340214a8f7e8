"""The launcher and the AOT cache (issue 22; ARCHITECTURE.md, "The launcher and the JVM"): a cache that matches is
used (the JVM says so in the server's log), and a cache that does not (corrupted, cut short, made for something
else) never stops the server from starting, receiving and serving mail, nor mixes JVM messages into a CLI command's
output. Each test runs on a copy of the dist tree with its own lib/darwinmail.aot."""
import imaplib
import os
import shutil
import smtplib
import subprocess
from pathlib import Path

import pytest

from conftest import DIST, Server


class TreeServer(Server):
    """A server run from another copy of the tree."""

    def __init__(self, workdir, tree, **kw):
        super().__init__(workdir, **kw)
        self.tree = tree

    def command(self, *args):
        return [str(self.tree / "bin" / "darwinmail"), "--config", str(self.config), *args]


@pytest.fixture(scope="module")
def java(tmp_path_factory):
    """The java the launcher runs (a cache is made for one JVM): the server's /proc/PID/exe, the launcher execs it."""
    work = tmp_path_factory.mktemp("which-java")
    s = TreeServer(work, DIST)
    s.start()
    try:
        return os.readlink(f"/proc/{s.proc.pid}/exe")
    finally:
        s.stop()


@pytest.fixture
def tree(tmp_path):
    t = tmp_path / "darwinmail"
    t.mkdir()
    for d in ("bin", "lib", "conf"):
        shutil.copytree(DIST / d, t / d, symlinks=True, copy_function=shutil.copy2)
    for c in ("darwinmail.aot", "darwinmail-cli.aot"):
        (t / "lib" / c).unlink(missing_ok=True)
        (t / "lib" / (c + ".where")).unlink(missing_ok=True)
    return t


def class_path(tree):
    return ":".join(str(p) for p in sorted((tree / "lib").glob("*.jar"), key=lambda p: p.name.encode()))


def small_cache(java, tree, out, options=("--enable-native-access=ALL-UNNAMED",)):
    """A real AOT cache for this JVM, this tree's class path and the launcher's module options (the JDK's start-up
    classes only: quick to make)."""
    r = subprocess.run([java, "-XX:+UseSerialGC", *options, f"-XX:AOTCacheOutput={out}", "-cp", class_path(tree),
                        "-version"], capture_output=True, text=True, timeout=300)
    assert out.exists(), r.stdout + r.stderr


def mail_round_trip(s, subject, new=True):
    if new:
        s.cli("domain", "add", "example.test")
        s.add_user("alice@example.test", "alice-pw")
    with smtplib.SMTP("127.0.0.1", s.port("smtp"), timeout=60) as c:
        c.sendmail("someone@remote.test", ["alice@example.test"],
                   f"From: someone@remote.test\r\nTo: alice@example.test\r\nSubject: {subject}\r\n\r\nHello.\r\n")
    m = imaplib.IMAP4("127.0.0.1", s.port("imap"), timeout=60)
    try:
        m.login("alice@example.test", "alice-pw")
        m.select("INBOX", readonly=True)
        typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert subject in data[0][1].decode()
    finally:
        m.logout()
    out = s.cli("domain", "list")
    assert out.stdout == "example.test\n", "the command's output is only its own"
    assert out.stderr == ""


def trained_here(tree):
    """What tools/aot-train writes beside a cache: the folder it is valid in."""
    (tree / "lib" / "darwinmail.aot.where").write_text(str(tree) + "\n")


def test_a_matching_cache_is_used_and_the_log_says_so(tmp_path, tree, java):
    small_cache(java, tree, tree / "lib" / "darwinmail.aot")
    trained_here(tree)
    s = TreeServer(tmp_path, tree).start()
    try:
        mail_round_trip(s, "with the cache")
        log = s.log_text()
        assert "Opened AOT cache " + str(tree / "lib" / "darwinmail.aot") in log
        assert "Using AOT-linked classes: true" in log
    finally:
        s.stop()


@pytest.mark.parametrize("damage", ["garbage", "cut short", "other JVM options"])
def test_a_broken_cache_does_not_stop_the_server(tmp_path, tree, java, damage):
    cache = tree / "lib" / "darwinmail.aot"
    if damage == "garbage":
        cache.write_bytes(b"not an AOT cache\n" * 1000)
        trained_here(tree)
    elif damage == "other JVM options":
        # Stale: made by a JVM run with other module options (the launcher's --enable-native-access missing), which
        # the JVM reports as a mismatch and does not use.
        small_cache(java, tree, cache, options=())
        trained_here(tree)
    else:
        small_cache(java, tree, tmp_path / "whole.aot")
        data = (tmp_path / "whole.aot").read_bytes()
        cache.write_bytes(data[: len(data) // 3])
    trained_here(tree)
    s = TreeServer(tmp_path, tree).start()
    try:
        mail_round_trip(s, "despite a broken cache")
        log = s.log_text()
        assert "Using AOT-linked classes: true" not in log
        assert "Darwin Mail started as" in log
    finally:
        s.stop()


def test_a_cache_moved_with_its_tree_is_not_used(tmp_path, tree, java):
    """A cache holding Derby's classes, trained in one folder, then the tree copied elsewhere with it (as a bundle
    unpacked at another path would be): the JVM would accept it and then stop at the first class of a sealed package
    loaded from the new place; the launcher does not pass it, and the server starts on the data made before."""
    s = TreeServer(tmp_path, tree)
    cache = tree / "lib" / "darwinmail.aot"
    r = subprocess.run([java, "-XX:+UseSerialGC", "-Xss512k", "-Xmx320m", "--enable-native-access=ALL-UNNAMED",
                        f"-XX:AOTCacheOutput={cache}", "-cp", class_path(tree), "org.darwinmail.cli.Main", "--config",
                        str(s.config), "domain", "add", "example.test"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and cache.exists(), r.stdout + r.stderr
    trained_here(tree)
    s.add_user("alice@example.test", "alice-pw")
    moved = tmp_path / "moved"
    shutil.copytree(tree, moved, symlinks=True, copy_function=shutil.copy2)
    s.tree = moved
    s.start()
    try:
        mail_round_trip(s, "from the moved tree", new=False)
        assert "Opened AOT cache" not in s.log_text()
    finally:
        s.stop()


def test_the_commands_cache_is_used_and_a_broken_one_changes_no_output(tmp_path, tree):
    """The administration commands' own cache (lib/darwinmail-cli.aot), recorded as tools/aot-train does (one command
    sent to a running server with DARWINMAIL_AOT_OUTPUT): the launcher passes it and the JVM uses it (its log, asked
    for through JDK_JAVA_OPTIONS, which the launcher's -Xlog:aot=off for stdout leaves alone); a corrupted one is not
    used, and the command's exit status and output are the same, with no JVM message in them."""
    s = TreeServer(tmp_path, tree).start()
    try:
        s.cli("domain", "add", "example.test")
        cache = tree / "lib" / "darwinmail-cli.aot"
        r = subprocess.run(s.command("domain", "list"), capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, DARWINMAIL_AOT_OUTPUT=str(cache)))
        assert r.returncode == 0 and cache.exists(), r.stdout + r.stderr
        (tree / "lib" / "darwinmail-cli.aot.where").write_text(str(tree) + "\n")
        jvm_log = tmp_path / "cli-aot.log"
        r = subprocess.run(s.command("domain", "list"), capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, JDK_JAVA_OPTIONS=f"-Xlog:aot=info:file={jvm_log}"))
        assert (r.returncode, r.stdout) == (0, "example.test\n"), r.stderr
        used = jvm_log.read_text()
        assert "Opened AOT cache " + str(cache) in used
        assert "Using AOT-linked classes: true" in used
        for damage in (b"not an AOT cache\n" * 1000, cache.read_bytes()[: cache.stat().st_size // 3]):
            cache.write_bytes(damage)
            r = subprocess.run(s.command("domain", "list"), capture_output=True, text=True, timeout=120)
            assert (r.returncode, r.stdout, r.stderr) == (0, "example.test\n", "")
            r = subprocess.run(s.command("--version"), capture_output=True, text=True, timeout=120)
            assert r.returncode == 0 and r.stdout.startswith("Darwin Mail ") and r.stderr == ""
    finally:
        s.stop()
