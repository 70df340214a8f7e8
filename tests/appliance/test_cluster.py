"""The appliance as a node of a cluster (issue 20; README, "Several nodes (cluster)").

PostgreSQL 15 (Debian's, an unprivileged cluster in a temporary folder, as the Java tests' PostgresCluster) and
S3Proxy (the jar the Java tests run) listen on the host's 127.0.0.1; a QEMU user-net guest reaches them at
10.0.2.2. Node 1 is the dist/ build on the host; node 2 is the OVA, booted once with the cluster's OVF properties.
Mail sent over SMTP to either node is read over IMAP on the other. The secrets the properties carry are in files
only the service user reads, and nowhere in the configuration or the journal.
"""
import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import mail
from conftest import boot, deploy_disk
from vm import ovf_env_iso

HERE = Path(__file__).resolve().parent
PGBIN = Path("/usr/lib/postgresql/15/bin")
S3PROXY = Path(os.environ.get("DARWIN_S3PROXY_JAR", str(
    Path.home() / ".m2/repository/org/gaul/s3proxy/2.6.0/s3proxy-2.6.0-jar-with-dependencies.jar")))
GUEST_HOST = "10.0.2.2"  # the host's 127.0.0.1 as QEMU's user-mode network shows it to the guest
DOMAIN = "cluster.test"
PG_USER = "darwin"


def _e2e():
    """tests/e2e/conftest.py's Server (the dist/ build on loopback), loaded under another module name."""
    spec = importlib.util.spec_from_file_location("e2e_servers", HERE.parent / "e2e" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port, proc, what, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("%s not listening on %d after %d s" % (what, port, timeout))


def _stop(proc, sig_int=False):
    """Stops a process this module started, by its PID."""
    if proc.poll() is None:
        if sig_int:
            proc.send_signal(2)  # PostgreSQL's fast shutdown
        else:
            proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def shared_dir():
    d = tempfile.mkdtemp(prefix="darwin-cluster-")
    os.chmod(d, 0o755)
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres(shared_dir):
    """PostgreSQL 15 as `nobody` on 127.0.0.1 (scram-sha-256), database darwinmail; yields (port, password)."""
    assert (PGBIN / "postgres").exists(), "PostgreSQL 15 is not installed (tools/apt-ensure postgresql)"
    d = shared_dir / "pg"
    d.mkdir()
    password = "pg-" + secrets.token_hex(12)
    (d / "pw").write_text(password + "\n")
    nobody = pwd.getpwnam("nobody")
    os.chown(d, nobody.pw_uid, nobody.pw_gid)
    os.chown(d / "pw", nobody.pw_uid, nobody.pw_gid)
    as_nobody = ["setpriv", "--reuid=%d" % nobody.pw_uid, "--regid=%d" % nobody.pw_gid, "--clear-groups", "--"]
    subprocess.run(as_nobody + [str(PGBIN / "initdb"), "-D", str(d / "data"), "-U", PG_USER,
                                "--pwfile=%s" % (d / "pw"), "--auth=scram-sha-256", "-E", "UTF8",
                                "--locale=C.UTF-8", "--no-sync"], check=True, capture_output=True)
    port = _free_port()
    with open(d / "postgres.log", "ab") as log:
        proc = subprocess.Popen(as_nobody + [str(PGBIN / "postgres"), "-D", str(d / "data"), "-p", str(port),
                                             "-k", str(d), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                                             "-c", "max_connections=100"],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_port(port, proc, "PostgreSQL")
        env = dict(os.environ, PGPASSWORD=password)
        for _ in range(50):  # the port opens a moment before connections are accepted
            r = subprocess.run(as_nobody + [str(PGBIN / "createdb"), "-h", "127.0.0.1", "-p",
                                            str(port), "-U", PG_USER, "darwinmail"],
                               env=env, capture_output=True, text=True)
            if r.returncode == 0:
                break
            time.sleep(0.2)
        assert r.returncode == 0, r.stderr
        yield port, password
    finally:
        _stop(proc, sig_int=True)


def _java():
    jdk = subprocess.run([str(HERE.parents[1] / "tools" / "find-jdk")], capture_output=True, text=True)
    home = jdk.stdout.strip() if jdk.returncode == 0 else os.environ.get("JAVA_HOME", "")
    return os.path.join(home, "bin", "java") if home else "java"


@pytest.fixture(scope="module")
def s3(shared_dir):
    """S3Proxy on a folder of the host, Signature V4, bucket darwinmail-bodies; yields (port, key id, secret)."""
    assert S3PROXY.is_file(), "S3Proxy's jar is missing (%s): mvn test fetches it once" % S3PROXY
    d = shared_dir / "s3"
    (d / "data" / "darwinmail-bodies").mkdir(parents=True)  # a bucket of the filesystem provider is a folder
    key, secret = "AKID" + secrets.token_hex(8).upper(), "s3-" + secrets.token_hex(16)
    port = _free_port()
    props = d / "s3proxy.properties"
    props.write_text("\n".join([
        "s3proxy.endpoint=http://127.0.0.1:%d" % port, "s3proxy.authorization=aws-v4",
        "s3proxy.identity=" + key, "s3proxy.credential=" + secret, "jclouds.provider=filesystem-nio2",
        "jclouds.identity=local", "jclouds.credential=local", "jclouds.filesystem.basedir=%s" % (d / "data"),
        "jclouds.region=us-east-1", ""]))
    with open(d / "s3proxy.log", "ab") as log:
        proc = subprocess.Popen([_java(), "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", str(S3PROXY),
                                 "--properties", str(props)], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        _wait_port(port, proc, "S3Proxy")
        yield port, key, secret
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def node1(shared_dir, postgres, s3):
    """Node 1: the dist/ build on the host, set up first (it creates the schema, the domain and postmaster@)."""
    pg_port, pg_password = postgres
    s3_port, key, secret = s3
    d = shared_dir / "node1"
    d.mkdir()
    (d / "pg-password").write_text(pg_password + "\n")
    (d / "s3-credentials").write_text("aws_access_key_id = %s\naws_secret_access_key = %s\n" % (key, secret))
    toml = ('[store]\nengine = "postgresql"\nurl = "jdbc:postgresql://127.0.0.1:%d/darwinmail"\nuser = "%s"\n'
            'password_file = "%s"\npool_size = 4\n\n[blobs]\nbackend = "s3"\nendpoint = "http://127.0.0.1:%d"\n'
            'bucket = "darwinmail-bodies"\ncredentials_file = "%s"\npath_style = true\n'
            % (pg_port, PG_USER, d / "pg-password", s3_port, d / "s3-credentials"))
    server = _e2e().Server(d, toml, domain=DOMAIN)
    postmaster_pw = "node1-" + secrets.token_hex(6)
    server.cli("setup", "--domain", DOMAIN, "--password-stdin", stdin=postmaster_pw + "\n")
    server.add_user("alice@" + DOMAIN, "alice-pw-1")
    server.start()
    server.postmaster_pw = postmaster_pw
    yield server
    server.stop()


@pytest.fixture(scope="module")
def node2(workdir, ova_disks, admin_key, postgres, s3, node1):
    """Node 2: the OVA, its OVF properties naming the same database and bucket (as the host's 10.0.2.2)."""
    pg_port, pg_password = postgres
    s3_port, key, secret = s3
    with open(admin_key + ".pub") as f:
        pub = f.read().strip()
    iso = ovf_env_iso(os.path.join(workdir, "cluster-ovf-env.iso"), {
        "appliance.hostname": "mail2." + DOMAIN,
        "appliance.domain": DOMAIN,
        "appliance.admin_password": "node2-" + secrets.token_hex(6),
        "appliance.ssh_key": pub,
        "appliance.pg_url": "jdbc:postgresql://%s:%d/darwinmail" % (GUEST_HOST, pg_port),
        "appliance.pg_user": PG_USER,
        "appliance.pg_password": pg_password,
        "appliance.s3_endpoint": "http://%s:%d" % (GUEST_HOST, s3_port),
        "appliance.s3_bucket": "darwinmail-bodies",
        "appliance.s3_access_key": key,
        "appliance.s3_secret_key": secret,
        "appliance.s3_path_style": "true",
    })
    system_vmdk, data_vmdk = ova_disks
    system = deploy_disk(system_vmdk, os.path.join(workdir, "cluster-system.qcow2"))
    data = deploy_disk(data_vmdk, os.path.join(workdir, "cluster-data.qcow2"))
    vm = boot(workdir, "n2", system, data, iso, admin_key)
    yield vm
    vm.stop()


def _host_imap(node, user, password):
    import imaplib
    with imaplib.IMAP4("127.0.0.1", node.port("imap"), timeout=120) as c:
        c.login(user, password)
        c.select("INBOX", readonly=True)
        typ, data = c.search(None, "ALL")
        out = []
        for num in data[0].split():
            typ, parts = c.fetch(num, "(BODY.PEEK[])")
            out.append(parts[0][1].decode("utf-8", "replace"))
        return out


def _host_send(node, rcpt):
    import smtplib
    import uuid
    token = "darwin-cluster-" + uuid.uuid4().hex
    msg = "From: <x@client.example>\r\nTo: <%s>\r\nSubject: %s\r\n\r\n%s\r\n" % (rcpt, token, token)
    with smtplib.SMTP("127.0.0.1", node.port("smtp"), local_hostname="client.example", timeout=120) as s:
        assert s.sendmail("x@client.example", [rcpt], msg.encode()) == {}
    return token


def _eventually(fn, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(1)


def test_mail_sent_to_the_appliance_is_read_on_the_other_node(node1, node2):
    token = mail.send(node2, "alice@" + DOMAIN)
    assert _eventually(lambda: [m for m in _host_imap(node1, "alice@" + DOMAIN, "alice-pw-1") if token in m])


def test_mail_sent_to_the_other_node_is_read_on_the_appliance(node1, node2):
    token = _host_send(node1, "alice@" + DOMAIN)
    assert _eventually(lambda: [m for m in mail.imap_messages(node2, "alice@" + DOMAIN, "alice-pw-1")
                                if token in m])


def test_the_second_node_kept_the_shared_postmaster(node1, node2):
    """The OVF properties' domain and admin password on a later node: the domain and postmaster@ exist already and
    are left as they are (postmaster keeps node 1's password); the node's own admin account is made."""
    token = _host_send(node1, "postmaster@" + DOMAIN)
    assert _eventually(lambda: [m for m in mail.imap_messages(node2, "postmaster@" + DOMAIN, node1.postmaster_pw)
                                if token in m])
    r = node2.ssh("sudo journalctl -b -u darwinmail-setup --no-pager")
    assert "set up %s" % DOMAIN in r.stdout, r.stdout
    assert "cluster mode: PostgreSQL at %s:" % GUEST_HOST in r.stdout, r.stdout


def test_the_secrets_are_only_in_the_service_users_files(postgres, s3, node2):
    _, pg_password = postgres
    _, _, secret = s3
    for path in ("/etc/darwinmail/pg-password", "/etc/darwinmail/s3-credentials"):
        r = node2.ssh("sudo stat -c '%a %U' " + path)
        assert r.stdout.split() == ["600", "darwinmail"], (path, r.stdout)
    conf = node2.ssh("sudo cat /etc/darwinmail/darwinmail.toml").stdout
    assert 'engine = "postgresql"' in conf and 'backend = "s3"' in conf, conf
    journal = node2.ssh("sudo journalctl -b --no-pager -o cat", timeout=300).stdout
    for s in (pg_password, secret):
        assert s not in conf
        assert s not in journal


def _dkim_records(dns_output):
    """The DKIM lines of `darwinmail domain dns`: selector name and quoted key, as the operator would publish them."""
    return sorted(line.strip() for line in dns_output.splitlines() if "._domainkey." in line)


def test_both_nodes_publish_and_sign_with_the_same_dkim_keys(node1, node2):
    """The DKIM keys are the cluster's (kept in the database): the appliance, set up after node 1, prints node 1's
    records for the domain, not keys of its own, and nobody copied dkim/ between them."""
    on_host = _dkim_records(node1.cli("domain", "dns", DOMAIN).stdout)
    r = node2.ssh("sudo darwinmail domain dns " + DOMAIN)
    assert r.returncode == 0, r.stderr
    assert len(on_host) == 2, on_host  # darwin and darwin-ed
    assert _dkim_records(r.stdout) == on_host
