package org.darwinmail.smtp;

import java.util.LinkedHashMap;
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

  record Rset() implements SmtpCommand {}

  record Noop() implements SmtpCommand {}

  record Quit() implements SmtpCommand {}

  record Vrfy(String argument) implements SmtpCommand {}

  record Expn(String argument) implements SmtpCommand {}

  record Help() implements SmtpCommand {}

  record StartTls() implements SmtpCommand {}

  /** AUTH (RFC 4954 §4) with its optional initial response ("=" means an empty one). */
  record Auth(String mechanism, String initialResponse) implements SmtpCommand {}

  static SmtpCommand parse(String line) {
    int sp = line.indexOf(' ');
    String verb = (sp < 0 ? line : line.substring(0, sp)).toUpperCase(Locale.ROOT);
    String arg = sp < 0 ? "" : line.substring(sp + 1).strip();
    return switch (verb) {
      case "EHLO", "HELO" -> {
        if (arg.isEmpty() || arg.contains(" ")) {
          throw new SmtpException(new Reply(501, "5.5.4", "Syntax: " + verb + " hostname"));
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
          throw new SmtpException(new Reply(501, "5.5.4", "Syntax: BDAT size [LAST]"));
        }
        yield new Bdat(size, arg.toUpperCase(Locale.ROOT).endsWith(" LAST"));
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
          throw new SmtpException(new Reply(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]"));
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
      throw new SmtpException(new Reply(501, "5.5.4", verb + " takes no argument"));
    }
    return c;
  }

  private static String prefix(String arg, String p, String usage) {
    if (arg.length() < p.length() || !arg.substring(0, p.length()).equalsIgnoreCase(p)) {
      throw new SmtpException(new Reply(501, "5.5.4", "Syntax: " + usage));
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
      throw new SmtpException(new Reply(501, "5.5.4", "Bad parameters"));
    }
    for (String p : r.split(" +")) {
      int eq = p.indexOf('=');
      String key = (eq < 0 ? p : p.substring(0, eq)).toUpperCase(Locale.ROOT);
      if (key.isEmpty() || !key.chars().allMatch(ch -> ch < 128 && (Character.isLetterOrDigit(ch) || ch == '-'))) {
        throw new SmtpException(new Reply(501, "5.5.4", "Bad parameter"));
      }
      if (out.size() >= 10 || out.containsKey(key)) {
        throw new SmtpException(new Reply(501, "5.5.4", "Too many or repeated parameters"));
      }
      out.put(key, eq < 0 ? null : p.substring(eq + 1));
    }
    return out;
  }
}
