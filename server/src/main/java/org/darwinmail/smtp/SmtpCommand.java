package org.darwinmail.smtp;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A parsed SMTP command (RFC 5321 §4.1.1 and the extensions we offer). {@link #parse} does no I/O and either
 * returns a command or throws {@link SmtpException} with the reply to send.
 */
public sealed interface SmtpCommand {
  /** HELO or EHLO (§4.1.1.1). */
  record Hello(String domain, boolean extended) implements SmtpCommand {}

  /** MAIL FROM (§4.1.1.2) with ESMTP parameters (upper-case keys, values as given; null for a bare keyword). */
  record Mail(MailPath from, Map<String, String> params) implements SmtpCommand {}

  /** RCPT TO (§4.1.1.3). */
  record Rcpt(MailPath to, Map<String, String> params) implements SmtpCommand {}

  record Data() implements SmtpCommand {}

  /** BDAT (RFC 3030 §2): the framer has already switched to reading {@code size} bytes. */
  record Bdat(long size, boolean last) implements SmtpCommand {}

  /** BURL (RFC 4468 §3.3): an IMAP URL whose data is the next part of the message; {@code last} ends it. */
  record Burl(String url, boolean last) implements SmtpCommand {}

  record Rset() implements SmtpCommand {}

  record Noop() implements SmtpCommand {}

  record Quit() implements SmtpCommand {}

  record Vrfy(String argument) implements SmtpCommand {}

  record Expn(String argument) implements SmtpCommand {}

  record Help() implements SmtpCommand {}

  record StartTls() implements SmtpCommand {}

  /** AUTH (RFC 4954 §4) with its optional initial response ("=" means an empty one). */
  record Auth(String mechanism, String initialResponse) implements SmtpCommand {}

  /**
   * The table of commands (RFC 5321 §4.1.1 and the extensions we offer), one row per command, checked by the
   * compiler: {@link #of} is an exhaustive switch over this sealed interface, so a new command without a row does not
   * compile. The session reads its preconditions (HELO first; refused while the disk is full), what it answers on the
   * event loop, its log names, the HELP list and the EHLO keywords of the commands from here.
   *
   * @param needsHello refused before EHLO/HELO (RFC 5321 §4.1.4)
   * @param takesMail  part of a mail transaction: refused with 452 4.3.1 while the disk is full
   * @param fromMemory always answered from memory (on the event loop); MAIL and RCPT are when they need no lookup
   * @param inHelp     listed by HELP
   * @param keyword    the EHLO keyword that announces the command (RFC 5321 §2.2.2), or null
   */
  enum Verb {
    HELLO(List.of("EHLO", "HELO"), false, false, true, true, null),
    MAIL(List.of("MAIL"), true, true, false, true, null),
    RCPT(List.of("RCPT"), true, true, false, true, null),
    DATA(List.of("DATA"), true, true, true, true, null),
    BDAT(List.of("BDAT"), true, true, false, true, "CHUNKING"), // RFC 3030 §2
    BURL(List.of("BURL"), true, true, false, true, "BURL imap"), // RFC 4468 §3.1: URLAUTH IMAP URLs
    RSET(List.of("RSET"), false, false, false, true, null),
    NOOP(List.of("NOOP"), false, false, true, true, null),
    QUIT(List.of("QUIT"), false, false, true, true, null),
    VRFY(List.of("VRFY"), false, false, true, true, null),
    EXPN(List.of("EXPN"), false, false, true, false, null),
    HELP(List.of("HELP"), false, false, true, true, null),
    STARTTLS(List.of("STARTTLS"), true, false, false, true, "STARTTLS"), // RFC 3207 §4
    AUTH(List.of("AUTH"), true, false, false, true, "AUTH PLAIN LOGIN"); // RFC 4954 §3

    final List<String> words;
    final boolean needsHello;
    final boolean takesMail;
    final boolean fromMemory;
    final boolean inHelp;
    final String keyword;

    Verb(List<String> words, boolean needsHello, boolean takesMail, boolean fromMemory, boolean inHelp,
        String keyword) {
      this.words = words;
      this.needsHello = needsHello;
      this.takesMail = takesMail;
      this.fromMemory = fromMemory;
      this.inHelp = inHelp;
      this.keyword = keyword;
    }

    static Verb of(SmtpCommand c) {
      return switch (c) {
        case Hello h -> HELLO;
        case Mail m -> MAIL;
        case Rcpt r -> RCPT;
        case Data d -> DATA;
        case Bdat b -> BDAT;
        case Burl b -> BURL;
        case Rset r -> RSET;
        case Noop n -> NOOP;
        case Quit q -> QUIT;
        case Vrfy v -> VRFY;
        case Expn x -> EXPN;
        case Help h -> HELP;
        case StartTls t -> STARTTLS;
        case Auth a -> AUTH;
      };
    }

    /** The command words the server knows (a line starting with one that does not parse is "malformed"). */
    static boolean known(String word) {
      for (Verb v : values()) {
        if (v.words.contains(word)) {
          return true;
        }
      }
      return false;
    }

    /** HELP's list (RFC 5321 §4.1.1.8). */
    static String helpList() {
      StringBuilder sb = new StringBuilder();
      for (Verb v : values()) {
        if (v.inHelp) {
          for (String w : v.words) {
            sb.append(sb.isEmpty() ? "" : " ").append(w);
          }
        }
      }
      return sb.toString();
    }
  }

  static SmtpCommand parse(String line) {
    int sp = line.indexOf(' ');
    String verb = (sp < 0 ? line : line.substring(0, sp)).toUpperCase(Locale.ROOT);
    String arg = sp < 0 ? "" : line.substring(sp + 1).strip();
    return switch (verb) {
      case "EHLO", "HELO" -> {
        if (arg.isEmpty() || arg.contains(" ")) {
          throw new SmtpException(Reply.syntax(verb + " hostname"));
        }
        yield new Hello(arg, verb.equals("EHLO"));
      }
      case "MAIL" -> {
        String rest = prefix(arg, "FROM:", "MAIL FROM:<address>");
        MailPath.Parsed p = MailPath.parse(rest, true);
        yield new Mail(p.path(), params(rest.substring(p.end())));
      }
      case "RCPT" -> {
        String rest = prefix(arg, "TO:", "RCPT TO:<address>");
        MailPath.Parsed p = MailPath.parse(rest, false);
        yield new Rcpt(p.path(), params(rest.substring(p.end())));
      }
      case "DATA" -> noArg(arg, verb, new Data());
      case "BDAT" -> {
        long size = bdatSize(line);
        if (size < 0) {
          throw new SmtpException(Reply.BDAT_SYNTAX);
        }
        yield new Bdat(size, arg.toUpperCase(Locale.ROOT).endsWith(" LAST"));
      }
      case "BURL" -> {
        // RFC 4468 §3.3: "BURL" SP absolute-URI [SP end-marker]; end-marker = "LAST"
        String[] parts = arg.split(" +");
        if (arg.isEmpty() || parts.length > 2 || parts.length == 2 && !parts[1].equalsIgnoreCase("LAST")) {
          throw new SmtpException(Reply.BURL_SYNTAX);
        }
        yield new Burl(parts[0], parts.length == 2);
      }
      case "RSET" -> noArg(arg, verb, new Rset());
      case "NOOP" -> new Noop();
      case "QUIT" -> noArg(arg, verb, new Quit());
      case "VRFY" -> new Vrfy(arg);
      case "EXPN" -> new Expn(arg);
      case "HELP" -> new Help();
      case "STARTTLS" -> noArg(arg, verb, new StartTls());
      case "AUTH" -> {
        String[] parts = arg.split(" ");
        if (arg.isEmpty() || parts.length > 2) {
          throw new SmtpException(Reply.AUTH_SYNTAX);
        }
        yield new Auth(parts[0].toUpperCase(Locale.ROOT), parts.length == 2 ? parts[1] : null);
      }
      default -> throw new SmtpException(Reply.SYNTAX);
    };
  }

  /** The size of "BDAT size [LAST]", or -1 when the line is not well formed. Also used by the framer. */
  static long bdatSize(String line) {
    String[] parts = line.strip().split(" +");
    if (parts.length < 2 || parts.length > 3 || !parts[0].equalsIgnoreCase("BDAT")) {
      return -1;
    }
    if (parts.length == 3 && !parts[2].equalsIgnoreCase("LAST")) {
      return -1;
    }
    String n = parts[1];
    if (n.isEmpty() || n.length() > 18 || !n.chars().allMatch(Character::isDigit)) {
      return -1;
    }
    return Long.parseLong(n);
  }

  private static SmtpCommand noArg(String arg, String verb, SmtpCommand c) {
    if (!arg.isEmpty()) {
      throw new SmtpException(Reply.noArgument(verb));
    }
    return c;
  }

  private static String prefix(String arg, String p, String usage) {
    if (arg.length() < p.length() || !arg.substring(0, p.length()).equalsIgnoreCase(p)) {
      throw new SmtpException(Reply.syntax(usage));
    }
    // Tolerate "MAIL FROM: <a@b>": common, and unambiguous.
    return arg.substring(p.length()).stripLeading();
  }

  /** ESMTP parameters: "KEY[=VALUE]" separated by spaces (RFC 5321 §4.1.2 Mail-parameters). */
  private static Map<String, String> params(String rest) {
    Map<String, String> out = new LinkedHashMap<>();
    String r = rest.strip();
    if (r.isEmpty()) {
      return out;
    }
    if (rest.charAt(0) != ' ') {
      throw new SmtpException(Reply.BAD_PARAMETERS);
    }
    for (String p : r.split(" +")) {
      int eq = p.indexOf('=');
      String key = (eq < 0 ? p : p.substring(0, eq)).toUpperCase(Locale.ROOT);
      if (key.isEmpty() || !key.chars().allMatch(ch -> ch < 128 && (Character.isLetterOrDigit(ch) || ch == '-'))) {
        throw new SmtpException(Reply.BAD_PARAMETER);
      }
      if (out.size() >= 10 || out.containsKey(key)) {
        throw new SmtpException(Reply.REPEATED_PARAMETERS);
      }
      out.put(key, eq < 0 ? null : p.substring(eq + 1));
    }
    return out;
  }
}
