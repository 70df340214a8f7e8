#!/usr/bin/python3
"""The browser tests' mail client (Python's standard library, run by /usr/bin/python3): sends over SMTP and
counts a mailbox over POP3, so the console's tests check mail really arrives.

  mail.py send PORT FROM TO SUBJECT [--auth USER PASSWORD] [--display NAME]   prints the server's final reply
  mail.py count PORT USER PASSWORD                                             prints the number of messages
"""
import email.utils
import poplib
import smtplib
import ssl
import sys


def tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the appliance's self-signed certificate
    return ctx


def send(port, sender, to, subject, auth=None, display=None):
    msg = (f"From: {email.utils.formataddr((display, sender)) if display else '<' + sender + '>'}\r\n"
           f"To: <{to}>\r\nSubject: {subject}\r\nMessage-ID: {email.utils.make_msgid(domain='browser.test')}\r\n"
           f"Date: {email.utils.formatdate()}\r\n\r\nSent by the console's browser tests.\r\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        s.ehlo("browser.test")
        if auth:
            s.starttls(context=tls())
            s.ehlo("browser.test")
            s.login(*auth)
        try:
            s.sendmail(sender, [to], msg.encode("utf-8"))
            print("250 sent")
        except smtplib.SMTPRecipientsRefused as e:
            code, text = list(e.recipients.values())[0]
            print(code, text.decode(errors="replace"))
        except smtplib.SMTPResponseException as e:
            print(e.smtp_code, e.smtp_error.decode(errors="replace"))


def count(port, user, password):
    p = poplib.POP3("127.0.0.1", port, timeout=20)
    try:
        p.stls(context=tls())
    except poplib.error_proto:
        pass
    p.user(user)
    p.pass_(password)
    print(p.stat()[0])
    p.quit()


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "send":
        auth = display = None
        rest = a[5:]
        while rest:
            if rest[0] == "--auth":
                auth, rest = (rest[1], rest[2]), rest[3:]
            elif rest[0] == "--display":
                display, rest = rest[1], rest[2:]
            else:
                sys.exit("unknown option " + rest[0])
        send(int(a[1]), a[2], a[3], a[4], auth, display)
    elif a[0] == "count":
        count(int(a[1]), a[2], a[3])
    else:
        sys.exit(__doc__)
