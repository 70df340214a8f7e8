package org.darwinmail.urlauth;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.darwinmail.mime.MimePart;
import org.darwinmail.store.Account;
import org.darwinmail.store.Addresses;
import org.darwinmail.store.Directory;
import org.darwinmail.store.MailStore;
import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MessageRow;
import org.darwinmail.store.UrlAuthKeys;

/**
 * IMAP URLAUTH (RFC 4467) for this server's own store, shared by IMAP (GENURLAUTH, URLFETCH, RESETKEY) and SMTP
 * submission (BURL, RFC 4468 §5: a submission server co-located with the IMAP server resolves the URL itself). The
 * INTERNAL mechanism (RFC 4467 §7 leaves the algorithm to the server): the token is HMAC-SHA256 of the rump URL
 * under the mailbox access key ({@link UrlAuthKeys}, one per user and mailbox), 64 hex digits. The four access
 * identifiers of RFC 4467 §2.3.3: "submit+user", "user+user", "authuser" and "anonymous".
 */
public final class UrlAuth {
  /** The one mechanism (RFC 4467 §7). */
  public static final String INTERNAL = "INTERNAL";

  /** Why a URL was refused; each protocol renders it in its own words. */
  public enum Failure {
    /** Not an IMAP URLAUTH URL this server reads. */
    SYNTAX,
    /** Names another server (RFC 4468 §6: a trust relationship would be needed). */
    FOREIGN,
    /** The token, the access identifier or the expiry does not allow this use (RFC 4467 §3). */
    UNAUTHORIZED,
    /** Names no mailbox, UIDVALIDITY, message or part that exists now. */
    NOT_FOUND
  }

  /** A refused URL. */
  public static final class Refused extends RuntimeException {
    public final Failure failure;

    public Refused(Failure failure, String message) {
      super(message, null, false, false);
      this.failure = failure;
    }
  }

  /**
   * Who uses a URL (RFC 4467 §3): the submission server acting for a user ("submit+user"), an IMAP session of a user
   * ("user+user"), or a session with no user ("anonymous", RFC 4467 §2.3.3; this server has none yet).
   */
  public static String submitter(String address) {
    return "submit+" + address;
  }

  /** The access of an IMAP session logged in as {@code address}. */
  public static String imapUser(String address) {
    return "user+" + address;
  }

  /**
   * What a URL names: a whole stored message (streamed), or the bytes of a section or of a ";PARTIAL=" range
   * ({@code bytes}, already cut to the range).
   */
  public record Part(MessageRow row, byte[] bytes) {
    public long size() {
      return bytes == null ? row.size() : bytes.length;
    }
  }

  private final String hostname;
  private final Directory directory;
  private final MailStore mail;
  private final UrlAuthKeys keys;
  private final Clock clock;

  public UrlAuth(String hostname, Directory directory, MailStore mail, UrlAuthKeys keys, Clock clock) {
    this.hostname = hostname.toLowerCase(Locale.ROOT);
    this.directory = directory;
    this.mail = mail;
    this.keys = keys;
    this.clock = clock;
  }

  /**
   * GENURLAUTH (RFC 4467 §6.2): the rump URL with ":INTERNAL:token" appended. The URL must name a mailbox of
   * {@code owner} on this server (and its current UIDVALIDITY when it gives one), carry no token yet, and give one
   * of the access identifiers of RFC 4467 §2.3.3 (the parser reads no other).
   */
  public String generate(Account owner, String rump, String mechanism) {
    if (!INTERNAL.equalsIgnoreCase(mechanism)) {
      throw new Refused(Failure.SYNTAX, "unsupported mechanism " + mechanism);
    }
    ImapUrl u = ImapUrl.parse(rump);
    if (u.token() != null) {
      throw new Refused(Failure.SYNTAX, "not a rump URL");
    }
    if (!u.host().equals(hostname)) {
      throw new Refused(Failure.FOREIGN, "not this server");
    }
    if (!Addresses.normalize(u.user()).equals(owner.address())) {
      throw new Refused(Failure.UNAUTHORIZED, "not the user's own mailbox");
    }
    Mailbox box = mailbox(owner, u);
    return u.rump() + ":" + INTERNAL + ":" + token(keys.key(box.id()), u.rump());
  }

  /**
   * Resolves a URL for {@code access} (RFC 4467 §3: the access identifier of the one using it: {@link #submitter}
   * for the submission server acting for a user, {@link #imapUser} for an IMAP session of a user, "anonymous" for a
   * session with none): the token, the access identifier and the expiry first, then the message, part and range.
   */
  public Part resolve(String url, String access) {
    ImapUrl u = ImapUrl.parse(url);
    if (u.token() == null || !INTERNAL.equals(u.mechanism())) {
      throw new Refused(Failure.UNAUTHORIZED, "no INTERNAL token");
    }
    if (!u.host().equals(hostname)) {
      throw new Refused(Failure.FOREIGN, "not this server");
    }
    if (!allows(u.access(), access)) {
      throw new Refused(Failure.UNAUTHORIZED, "access identifier is not " + access);
    }
    Account owner = directory.account(Addresses.normalize(u.user()))
        .orElseThrow(() -> new Refused(Failure.UNAUTHORIZED, "no such user"));
    Mailbox box = mail.mailbox(owner.id(), MailStore.canonicalName(u.mailbox()))
        .orElseThrow(() -> new Refused(Failure.UNAUTHORIZED, "no such mailbox"));
    // RFC 4467 §3: the token is checked against the key of the mailbox now; a mailbox deleted and made again has
    // another key. Compared in constant time.
    byte[] key = keys.existing(box.id());
    if (key == null || !MessageDigest.isEqual(token(key, u.rump()).getBytes(StandardCharsets.US_ASCII),
        u.token().getBytes(StandardCharsets.US_ASCII))) {
      throw new Refused(Failure.UNAUTHORIZED, "token does not verify");
    }
    if (u.expire() != null && !clock.instant().isBefore(u.expire())) {
      throw new Refused(Failure.UNAUTHORIZED, "expired"); // RFC 4467 §2.3.2
    }
    if (u.uidValidity() != 0 && u.uidValidity() != box.uidValidity()) {
      throw new Refused(Failure.NOT_FOUND, "UIDVALIDITY changed"); // RFC 5092 §5: names nothing now
    }
    MessageRow row = mail.message(box.id(), u.uid()).orElseThrow(() -> new Refused(Failure.NOT_FOUND, "no such UID"));
    if (u.part() == null && u.partial() == null) {
      return new Part(row, null);
    }
    byte[] bytes = u.part() == null ? whole(row) : section(row, u.part());
    if (bytes == null) {
      throw new Refused(Failure.NOT_FOUND, "no such part");
    }
    if (u.partial() != null) {
      // RFC 5092 §5 / RFC 3501 §6.4.5: ;PARTIAL=origin.length is BODY[section]<origin.length>: the bytes from the
      // origin, at most length of them; an origin past the end is the empty string
      int from = (int) Math.min(u.partial()[0], bytes.length);
      int len = (int) Math.min(u.partial()[1], bytes.length - from);
      bytes = Arrays.copyOfRange(bytes, from, from + len);
    }
    return new Part(row, bytes);
  }

  /** The bytes of a resolved part: the stored message streamed from its blob, or the section's or range's. */
  public InputStream open(Part p) throws IOException {
    return p.bytes() == null ? mail.open(p.row()) : new ByteArrayInputStream(p.bytes());
  }

  /** RESETKEY (RFC 4467 §6.1): the key of one mailbox of the account, or of all of them ({@code name} null). */
  public void reset(Account account, String name) {
    if (name == null) {
      keys.resetAll(account.id());
      return;
    }
    Mailbox box = mail.mailbox(account.id(), MailStore.canonicalName(name))
        .orElseThrow(() -> new Refused(Failure.NOT_FOUND, "no such mailbox"));
    keys.reset(box.id());
  }

  private Mailbox mailbox(Account owner, ImapUrl u) {
    Mailbox box = mail.mailbox(owner.id(), MailStore.canonicalName(u.mailbox()))
        .orElseThrow(() -> new Refused(Failure.NOT_FOUND, "no such mailbox"));
    if (u.uidValidity() != 0 && u.uidValidity() != box.uidValidity()) {
      throw new Refused(Failure.NOT_FOUND, "UIDVALIDITY is not the mailbox's");
    }
    return box;
  }

  /**
   * RFC 4467 §2.3.3: "anonymous" allows any session, "authuser" any session logged in as a user (not an anonymous
   * one; the submission server acts for a logged-in user), "submit+" / "user+" only that use by that user (the
   * addresses compared as addresses).
   */
  private static boolean allows(String inUrl, String wanted) {
    if (inUrl.equals("anonymous")) {
      return true;
    }
    if (inUrl.equals("authuser")) {
      return !wanted.equals("anonymous");
    }
    int a = inUrl.indexOf('+');
    int b = wanted.indexOf('+');
    if (a < 0 || b < 0) {
      return false;
    }
    return inUrl.substring(0, a).equals(wanted.substring(0, b))
        && Addresses.normalize(inUrl.substring(a + 1)).equals(Addresses.normalize(wanted.substring(b + 1)));
  }

  /** The INTERNAL token: HMAC-SHA256 (RFC 2104) of the rump URL's bytes under the mailbox access key, in hex. */
  static String token(byte[] key, String rump) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return HexFormat.of().formatHex(mac.doFinal(rump.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private byte[] whole(MessageRow row) {
    try (InputStream in = mail.open(row)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A section's bytes as FETCH BODY[section] returns them (RFC 3501 §6.4.5), or null when the part does not exist:
   * part numbers, then HEADER / TEXT / HEADER.FIELDS[.NOT] (of the message, or of a message/rfc822 part's message)
   * or MIME (the part's own header).
   */
  private byte[] section(MessageRow row, ImapUrl.Section section) {
    byte[] data = whole(row);
    MimePart root = MimePart.parse(data);
    int[] path = section.path();
    MimePart p = root.part(path);
    if (p == null) {
      return null;
    }
    // HEADER / TEXT of a part name the encapsulated message of a message/rfc822 part (RFC 3501 §6.4.5)
    MimePart msg = path.length == 0 ? root : p.message;
    return switch (section.text()) {
      case "" -> path.length == 0 ? data : p.bodyBytes();
      case "MIME" -> p.headerBytes();
      case "HEADER" -> msg == null ? null : msg.headerBytes();
      case "TEXT" -> msg == null ? null : msg.bodyBytes();
      case "HEADER.FIELDS" -> msg == null ? null : msg.headerFields(section.fields(), false);
      case "HEADER.FIELDS.NOT" -> msg == null ? null : msg.headerFields(section.fields(), true);
      default -> null;
    };
  }
}
