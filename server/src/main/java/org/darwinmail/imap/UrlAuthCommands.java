package org.darwinmail.imap;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.imap.ImapCommand.GenUrlAuth;
import org.darwinmail.imap.ImapCommand.ResetKey;
import org.darwinmail.imap.ImapCommand.UrlFetch;
import org.darwinmail.urlauth.UrlAuth;

/**
 * URLAUTH (RFC 4467) on the session's state and output: RESETKEY, GENURLAUTH and URLFETCH, through the server's one
 * {@link UrlAuth} (which SMTP BURL uses too). URLFETCH resolves as an IMAP session of the logged-in user: URLs for
 * "user+" that user, "authuser" and "anonymous" (RFC 4467 §2.3.3).
 */
final class UrlAuthCommands {
  private final ImapContext ctx;
  private final SessionState st;
  private final ReplyWriter writer;

  UrlAuthCommands(ImapContext ctx, SessionState st, ReplyWriter writer) {
    this.ctx = ctx;
    this.st = st;
    this.writer = writer;
  }

  /** RFC 4467 §6.1: the mechanisms named must be ones the server has; URLMECH lists them. */
  void resetKey(ResetKey x) {
    for (String m : x.mechanisms()) {
      if (!m.equals(UrlAuth.INTERNAL)) {
        throw ImapException.no(null, "Unknown URLAUTH mechanism " + m);
      }
    }
    try {
      ctx.urlAuth().reset(st.account, x.mailbox());
    } catch (UrlAuth.Refused e) {
      throw ImapException.no("NONEXISTENT", "No such mailbox");
    }
    if (x.mailbox() == null) {
      writer.ok(x.tag(), "All keys removed");
    } else {
      writer.ok(x.tag(), "[URLMECH INTERNAL] Key reset");
    }
  }

  /** RFC 4467 §6.2: all the URLs or none (a NO names the first one refused and why, in general words). */
  void genUrlAuth(GenUrlAuth x) {
    List<String> made = new ArrayList<>();
    for (int i = 0; i < x.urls().size(); i++) {
      String url = x.urls().get(i);
      try {
        made.add(ctx.urlAuth().generate(st.account, url, x.mechanisms().get(i)));
      } catch (UrlAuth.Refused e) {
        throw ImapException.no(null, "GENURLAUTH refused: " + switch (e.failure) {
          case SYNTAX -> "not a URLAUTH rump URL with INTERNAL";
          case FOREIGN -> "the URL names another server";
          case UNAUTHORIZED -> "the URL names another user's mailbox";
          case NOT_FOUND -> "no such mailbox or UIDVALIDITY";
        });
      }
    }
    Resp r = new Resp(st.utf8).raw("* GENURLAUTH");
    for (String u : made) {
      r.sp().string(u);
    }
    writer.send(r.bytes());
    writer.ok(x.tag(), "GENURLAUTH completed");
  }

  /** RFC 4467 §6.3: each URL with its data, or NIL when it does not resolve for this user. */
  void urlFetch(UrlFetch x) {
    for (String url : x.urls()) {
      Resp r = new Resp(st.utf8).raw("* URLFETCH ").string(url).sp();
      try {
        UrlAuth.Part p = ctx.urlAuth().resolve(url, UrlAuth.imapUser(st.account.address()));
        try (InputStream in = ctx.urlAuth().open(p)) {
          r.literal(in.readAllBytes());
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      } catch (UrlAuth.Refused e) {
        r.raw("NIL");
      }
      writer.send(r.bytes());
      writer.flush();
      writer.checkClient();
    }
    writer.ok(x.tag(), "URLFETCH completed");
  }
}
