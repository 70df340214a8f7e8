"""What one hostile or heavy user can do to everyone else (issue 23), with Python's imaplib and smtplib against the
dist build: long commands of one user must not stop the server for the others."""
import imaplib
import smtplib
import threading
import time

HEAVY, HEAVY_PW = "heavy@example.test", "heavy-pw"


def test_two_long_searches_do_not_stop_logins_or_smtp(server):
    """Two SEARCH commands that each scan a large mailbox for minutes of CPU used to hold both cores' virtual-thread
    carriers: logins, POP3 and SMTP waited until one ended. Another user must be served while both still run."""
    server.add_user(HEAVY, HEAVY_PW)
    im = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=120)
    im.login(HEAVY, HEAVY_PW)
    line = "word " * 15 + "\r\n"
    body = line * (400 * 1024 // len(line))
    for i in range(40):
        im.append("INBOX", None, None, f"From: x@example.test\r\nSubject: big {i}\r\n\r\n{body}".encode())
    im.logout()
    # Each key is true (NOT of a text found nowhere), so every one is evaluated on every message; needles past 64
    # characters take the linear (KMP) search: about 490 x 16 MB of text per command (1,000 keys
    # is the limit: NOT and TEXT count one each).
    keys = " ".join(f'NOT TEXT "{i:04d}' + "y" * 71 + '"' for i in range(490))
    finished = []

    def search():
        c = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=600)
        c.login(HEAVY, HEAVY_PW)
        c.select("INBOX", readonly=True)
        try:
            typ, _ = c._simple_command("SEARCH", keys)
        except imaplib.IMAP4.error as e:
            typ = str(e)
        finished.append((time.monotonic(), typ))
        c.logout()

    threads = [threading.Thread(target=search) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(2)  # both searches are computing
    other = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=600)
    other.login("alice@example.test", "alice-pw")
    other.select("INBOX")
    other.logout()
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=600) as s:
        s.sendmail("x@elsewhere.test", ["alice@example.test"], "Subject: during\r\n\r\nhi\r\n")
    served = time.monotonic()
    for t in threads:
        t.join(timeout=600)
    assert [typ for _, typ in finished] == ["OK", "OK"]
    assert served < min(at for at, _ in finished), "the other user waited for the long searches to end"
