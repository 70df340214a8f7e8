"""Only SSH, the mail listeners, the admin UI and ACME's HTTP-01 port 80 are
reachable; a service started by mistake on another port stays unreachable from
the network."""
import socket

from conftest import listener_ports

EXPECTED_OPEN = {22, 80, 25, 465, 587, 110, 995, 143, 993, 8443}


def test_ruleset_drops_by_default_and_opens_exactly_the_appliance_ports(host):
    rules = host.check_output("nft -j list chain inet filter input")
    import json
    chain = next(o["chain"] for o in json.loads(rules)["nftables"] if "chain" in o)
    assert chain["policy"] == "drop"
    opened = set()
    for o in json.loads(rules)["nftables"]:
        rule = o.get("rule")
        if not rule:
            continue
        for e in rule["expr"]:
            m = e.get("match", {})
            if m.get("left", {}).get("payload", {}).get("field") == "dport" and \
                    m["left"]["payload"].get("protocol") == "tcp":
                right = m["right"]
                opened |= set(right["set"]) if isinstance(right, dict) else {right}
    assert opened == EXPECTED_OPEN
    assert host.service("nftables").is_enabled


def test_listening_ports_are_only_ssh_and_configured_listeners(host):
    """Nothing listens on the network but sshd and the server's configured listeners."""
    allowed = {22} | set(listener_ports(host).values())
    listening = set()
    for s in host.socket.get_listening_sockets():
        proto, rest = s.split("://")
        if proto != "tcp":
            continue
        addr, port = rest.rsplit(":", 1)
        addr = addr.split("%")[0].strip("[]")  # "127.0.0.53%lo", "[::1]"
        if proto == "tcp" and addr not in ("127.0.0.1", "::1", "127.0.0.53", "127.0.0.54"):
            listening.add(int(port))
    assert {22, 25} <= listening
    assert listening <= allowed, "unexpected listeners: %s" % (listening - allowed)
    assert listening <= EXPECTED_OPEN


def test_port_outside_the_rules_is_unreachable(host, appliance):
    """A listener on 8081 answers inside the VM but not through the network."""
    pid = host.check_output("nohup setsid /usr/bin/python3 -m http.server 8081 --bind 0.0.0.0 "
                            ">/dev/null 2>&1 & echo $!")
    assert host.run("for i in $(seq 50); do ss -ltn | grep -q ':8081 ' && exit 0; sleep 0.2; done; exit 1").rc == 0
    try:
        assert host.run("python3 -c \"import urllib.request as u; u.urlopen('http://127.0.0.1:8081/', timeout=10)\"").rc == 0
        got = b""
        try:
            with socket.create_connection(("127.0.0.1", appliance.ports[8081]), timeout=10) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                s.settimeout(10)
                got = s.recv(100)
        except OSError:
            pass
        assert got == b"", "port 8081 reachable through the firewall"
    finally:
        host.run("kill %s" % int(pid))
