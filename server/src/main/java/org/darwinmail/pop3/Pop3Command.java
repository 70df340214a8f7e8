package org.darwinmail.pop3;

import java.util.Locale;

/**
 * A parsed POP3 command (RFC 1939 §4-§7, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH). {@link #parse} does no I/O
 * and either returns a command or throws {@link Pop3Exception} with the reply to send. Message numbers are 1-based
 * as on the wire; that they exist is the session's business.
 */
public sealed interface Pop3Command {
  /** RFC 1939 §7: USER name. */
  record User(String name) implements Pop3Command {}

  /** RFC 1939 §7: PASS string (the rest of the line: a password may contain spaces). */
  record Pass(String password) implements Pop3Command {}

  /** RFC 1939 §7: APOP. Recognised only to be refused: Argon2id hashes cannot compute an MD5 digest. */
  record Apop() implements Pop3Command {}

  /** RFC 5034 §4: AUTH mechanism [initial-response]; no mechanism lists the mechanisms (a common extension). */
  record Auth(String mechanism, String initialResponse) implements Pop3Command {}

  /** RFC 2449 §5. */
  record Capa() implements Pop3Command {}

  /** RFC 2595 §4. */
  record Stls() implements Pop3Command {}

  /** RFC 1939 §5. */
  record Stat() implements Pop3Command {}

  /** RFC 1939 §5: LIST [msg]; msg is null for the whole listing. */
  record List(Integer msg) implements Pop3Command {}

  /** RFC 1939 §5. */
  record Retr(int msg) implements Pop3Command {}

  /** RFC 1939 §5. */
  record Dele(int msg) implements Pop3Command {}

  /** RFC 1939 §5. */
  record Noop() implements Pop3Command {}

  /** RFC 1939 §5. */
  record Rset() implements Pop3Command {}

  /** RFC 1939 §4 (AUTHORIZATION) and §6 (UPDATE). */
  record Quit() implements Pop3Command {}

  /** RFC 1939 §7: TOP msg n. */
  record Top(int msg, long lines) implements Pop3Command {}

  /** RFC 1939 §7: UIDL [msg]. */
  record Uidl(Integer msg) implements Pop3Command {}

  /** Longest argument we take (RFC 2449 §4 says 40 octets; user names and SASL responses get more room). */
  int MAX_ARG = 1024;

  static Pop3Command parse(String line) {
    int sp = line.indexOf(' ');
    String verb = (sp < 0 ? line : line.substring(0, sp)).toUpperCase(Locale.ROOT);
    String rest = sp < 0 ? "" : line.substring(sp + 1);
    String arg = rest.strip();
    String[] args = words(arg);
    return switch (verb) {
      case "USER" -> {
        if (args.length != 1) {
          throw new Pop3Exception(Reply.err("Syntax: USER name"));
        }
        yield new User(args[0]);
      }
      case "PASS" -> {
        if (rest.isEmpty()) {
          throw new Pop3Exception(Reply.err("Syntax: PASS password"));
        }
        yield new Pass(rest);
      }
      case "APOP" -> new Apop();
      case "AUTH" -> {
        if (args.length > 2) {
          throw new Pop3Exception(Reply.err("Syntax: AUTH mechanism [initial-response]"));
        }
        yield new Auth(args.length == 0 ? null : args[0].toUpperCase(Locale.ROOT), args.length == 2 ? args[1] : null);
      }
      case "CAPA" -> noArg(args, verb, new Capa());
      case "STLS" -> noArg(args, verb, new Stls());
      case "STAT" -> noArg(args, verb, new Stat());
      case "LIST" -> new List(optionalNumber(args, "LIST [msg]"));
      case "UIDL" -> new Uidl(optionalNumber(args, "UIDL [msg]"));
      case "RETR" -> new Retr(number(args, 1, "RETR msg")[0].intValue());
      case "DELE" -> new Dele(number(args, 1, "DELE msg")[0].intValue());
      case "TOP" -> {
        Long[] n = number(args, 2, "TOP msg lines");
        yield new Top(n[0].intValue(), n[1]);
      }
      case "NOOP" -> noArg(args, verb, new Noop());
      case "RSET" -> noArg(args, verb, new Rset());
      case "QUIT" -> noArg(args, verb, new Quit());
      default -> throw new Pop3Exception(Reply.UNKNOWN);
    };
  }

  /**
   * The words of {@code arg} (already stripped), split at runs of spaces (RFC 1939 §3: "separated by a single SPACE";
   * more are tolerated). By hand, not String.split(" +"): that compiles a regular expression for every command, on
   * the event loop for RETR and DELE.
   */
  private static String[] words(String arg) {
    if (arg.isEmpty()) {
      return new String[0];
    }
    int n = 1;
    for (int i = 1; i < arg.length(); i++) {
      if (arg.charAt(i) != ' ' && arg.charAt(i - 1) == ' ') {
        n++;
      }
    }
    String[] out = new String[n];
    int w = 0;
    int start = 0;
    for (int i = 0; i <= arg.length(); i++) {
      if (i == arg.length() || arg.charAt(i) == ' ') {
        if (i > start) {
          out[w++] = arg.substring(start, i);
        }
        start = i + 1;
      }
    }
    return out;
  }

  private static Pop3Command noArg(String[] args, String verb, Pop3Command c) {
    if (args.length != 0) {
      throw new Pop3Exception(Reply.err(verb + " takes no argument"));
    }
    return c;
  }

  private static Integer optionalNumber(String[] args, String usage) {
    if (args.length == 0) {
      return null;
    }
    return number(args, 1, usage)[0].intValue();
  }

  /**
   * Exactly {@code n} decimal arguments. The first is a message number (1 to 999,999,999); the others (TOP's line
   * count) may be larger and are capped.
   */
  private static Long[] number(String[] args, int n, String usage) {
    if (args.length != n) {
      throw new Pop3Exception(Reply.err("Syntax: " + usage));
    }
    Long[] out = new Long[n];
    for (int i = 0; i < n; i++) {
      String a = args[i];
      if (a.isEmpty()) {
        throw new Pop3Exception(i == 0 ? Reply.BAD_NUMBER : Reply.err("Syntax: " + usage));
      }
      int lead = 0; // leading zeros, all but a last digit
      for (int k = 0; k < a.length(); k++) {
        char ch = a.charAt(k);
        if (ch < '0' || ch > '9') {
          throw new Pop3Exception(i == 0 ? Reply.BAD_NUMBER : Reply.err("Syntax: " + usage));
        }
        if (ch == '0' && lead == k && k < a.length() - 1) {
          lead++;
        }
      }
      String digits = a.substring(lead);
      if (i == 0) {
        if (digits.length() > 9 || Long.parseLong(digits) == 0) {
          throw new Pop3Exception(Reply.NO_SUCH_MESSAGE);
        }
        out[i] = Long.parseLong(digits);
      } else {
        out[i] = digits.length() > 18 ? Long.MAX_VALUE : Long.parseLong(digits);
      }
    }
    return out;
  }
}
