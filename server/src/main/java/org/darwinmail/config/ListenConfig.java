package org.darwinmail.config;

/**
 * Listening addresses, "host:port" ("[::1]:port" for IPv6); an empty string turns a listener off.
 * Defaults are the appliance's standard ports on every address (ARCHITECTURE.md, "Listeners and security rules"),
 * except {@code https} (the MTA-STS policy, RFC 8461 §3.3), off unless configured: the appliance's template sets
 * {@code 0.0.0.0:443}.
 */
public record ListenConfig(
    String smtp, String submission, String submissions, String imap, String imaps, String pop3, String pop3s,
    String admin, String https) {

  /** Without the MTA-STS policy listener. */
  public ListenConfig(String smtp, String submission, String submissions, String imap, String imaps, String pop3,
      String pop3s, String admin) {
    this(smtp, submission, submissions, imap, imaps, pop3, pop3s, admin, "");
  }

  public ListenConfig {
    smtp = orDefault(smtp, "0.0.0.0:25");
    submission = orDefault(submission, "0.0.0.0:587");
    submissions = orDefault(submissions, "0.0.0.0:465");
    imap = orDefault(imap, "0.0.0.0:143");
    imaps = orDefault(imaps, "0.0.0.0:993");
    pop3 = orDefault(pop3, "0.0.0.0:110");
    pop3s = orDefault(pop3s, "0.0.0.0:995");
    admin = orDefault(admin, "0.0.0.0:8443");
    https = orDefault(https, "");
    for (String[] kv : new String[][] {{"smtp", smtp}, {"submission", submission}, {"submissions", submissions},
        {"imap", imap}, {"imaps", imaps}, {"pop3", pop3}, {"pop3s", pop3s}, {"admin", admin},
        {"https", https}}) {
      if (!kv[1].isEmpty()) {
        HostPort.parse("listen." + kv[0], kv[1]);
      }
    }
  }

  private static String orDefault(String v, String d) {
    return v == null ? d : v.trim();
  }

  public static ListenConfig defaults() {
    return new ListenConfig(null, null, null, null, null, null, null, null, null);
  }

  /** Every listener on 127.0.0.1 with a port chosen by the system; for tests. */
  public static ListenConfig ephemeral() {
    String e = "127.0.0.1:0";
    return new ListenConfig(e, e, e, e, e, e, e, "", "");
  }

  public ListenConfig withAdmin(String a) {
    return new ListenConfig(smtp, submission, submissions, imap, imaps, pop3, pop3s, a, https);
  }

  public ListenConfig withHttps(String h) {
    return new ListenConfig(smtp, submission, submissions, imap, imaps, pop3, pop3s, admin, h);
  }
}
