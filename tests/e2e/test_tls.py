"""TLS as testssl sees it, with clients nobody here wrote: Python's ssl and openssl s_client.

Every TLS port offers AEAD suites only (a CBC-only TLS 1.2 client cannot connect), still serves ordinary TLS 1.2 and
1.3 clients, and refuses client-initiated renegotiation (openssl's "R" command on a TLS 1.2 connection).
"""
import socket
import ssl
import subprocess
import time

import pytest

TLS_PORTS = ["imaps", "pop3s", "submissions"]
CBC_ONLY = "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:AES128-SHA:AES256-SHA"


def context(max_version=None, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if max_version:
        ctx.maximum_version = max_version
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def handshake(port, ctx):
    with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
        with ctx.wrap_socket(raw) as s:
            return s.version(), s.cipher()[0]


@pytest.mark.parametrize("listener", TLS_PORTS)
def test_a_cbc_only_client_cannot_connect(server, listener):
    with pytest.raises(ssl.SSLError):
        handshake(server.port(listener), context(ssl.TLSVersion.TLSv1_2, CBC_ONLY))


@pytest.mark.parametrize("listener", TLS_PORTS)
def test_tls12_and_tls13_clients_connect_with_aead(server, listener):
    version, cipher = handshake(server.port(listener), context(ssl.TLSVersion.TLSv1_2))
    assert version == "TLSv1.2"
    assert "GCM" in cipher or "CHACHA20" in cipher
    version, _ = handshake(server.port(listener), context())
    assert version == "TLSv1.3"


def test_client_initiated_renegotiation_is_refused(server):
    """openssl s_client reads "R" on its standard input as: renegotiate now. The server must not go along; it ends
    the connection instead, so the NOOP sent after it is never answered."""
    p = subprocess.Popen(  # (command letters work only without -ign_eof)
        ["openssl", "s_client", "-tls1_2", "-connect", f"127.0.0.1:{server.port('imaps')}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        time.sleep(2)  # the handshake and the greeting
        p.stdin.write(b"R\n")
        p.stdin.flush()
        time.sleep(2)
        p.stdin.write(b"a NOOP\n")
        p.stdin.flush()
        time.sleep(2)  # time for an answer, if the connection were still there
    except BrokenPipeError:
        pass  # s_client already gone: the server closed the connection
    out = p.communicate(timeout=30)[0].decode("latin-1")  # end of input: s_client quits
    assert "* OK" in out  # the session had started
    assert "RENEGOTIATING" in out
    assert "a OK NOOP" not in out
