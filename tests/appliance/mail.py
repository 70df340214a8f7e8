"""Mail clients nobody here wrote (Python's smtplib, imaplib, poplib) talking
to the appliance through its forwarded ports, as a user's client would."""
import email.utils
import imaplib
import poplib
import smtplib
import ssl
import uuid

HOST = "127.0.0.1"


def _tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the appliance's certificate is self-signed
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def send(vm, rcpt, sender="someone@client.example"):
    """Sends one message to rcpt over SMTP (port 25, STARTTLS when offered);
    returns the unique token in its subject and body."""
    token = "darwin-appliance-" + uuid.uuid4().hex
    msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@client.example>\r\n\r\n"
           "Sent through the appliance's SMTP listener.\r\n%s\r\n"
           % (sender, rcpt, token, email.utils.formatdate(), token, token))
    with smtplib.SMTP(HOST, vm.ports[25], local_hostname="client.example", timeout=600) as s:
        s.ehlo()
        if s.has_extn("starttls"):
            s.starttls(context=_tls())
            s.ehlo()
        refused = s.sendmail(sender, [rcpt], msg.encode())
        assert refused == {}
    return token


def imap_messages(vm, user, password):
    with imaplib.IMAP4(HOST, vm.ports[143], timeout=600) as c:
        c.starttls(ssl_context=_tls())
        c.login(user, password)
        typ, _ = c.select("INBOX", readonly=True)
        assert typ == "OK"
        typ, data = c.search(None, "ALL")
        assert typ == "OK"
        out = []
        for num in data[0].split():
            typ, parts = c.fetch(num, "(BODY.PEEK[])")
            assert typ == "OK"
            out.append(parts[0][1].decode("utf-8", "replace"))
        return out


def pop3_messages(vm, user, password):
    c = poplib.POP3(HOST, vm.ports[110], timeout=600)
    try:
        c.stls(context=_tls())
        c.user(user)
        c.pass_(password)
        count, _ = c.stat()
        return [b"\r\n".join(c.retr(i + 1)[1]).decode("utf-8", "replace") for i in range(count)]
    finally:
        c.quit()


READERS = {"imap": (143, imap_messages), "pop3": (110, pop3_messages)}
