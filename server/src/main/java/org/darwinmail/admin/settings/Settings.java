package org.darwinmail.admin.settings;

import java.util.List;
import org.darwinmail.config.MtaStsConfig;

/**
 * The settings document: what the first-run wizard asks for, and what the OVF properties and the CLI are to give
 * through the same {@link SettingsEngine#apply} path. A null field is "not given" (left as it is); applying the
 * same document twice changes nothing the second time.
 *
 * @param hostname        the server's name (SMTP greeting, {@code Received:}); stored in {@code settings.toml}
 * @param domain          the first mail domain; added to the directory when missing
 * @param mailbox         the first mailbox's address (in {@code domain}); created when missing
 * @param mailboxPassword its password, needed only when the mailbox is created (never stored in this document's
 *                        saved form)
 * @param aliases         local parts of {@code domain} (postmaster, abuse) that deliver to {@code mailbox}
 * @param mtaSts          the MTA-STS policy to publish ({@code [mta_sts]} in {@code settings.toml}: its domains, each
 *                        a mail domain, the mode and max_age), replacing the stored one
 */
public record Settings(String hostname, String domain, String mailbox, char[] mailboxPassword, List<String> aliases,
    MtaStsConfig mtaSts) {
  public Settings {
    aliases = aliases == null ? List.of() : List.copyOf(aliases);
  }

  /** A document that leaves MTA-STS as it is. */
  public Settings(String hostname, String domain, String mailbox, char[] mailboxPassword, List<String> aliases) {
    this(hostname, domain, mailbox, mailboxPassword, aliases, null);
  }

  public static Settings empty() {
    return new Settings(null, null, null, null, List.of());
  }

  public Settings withHost(String h, String d) {
    return new Settings(h, d, mailbox, mailboxPassword, aliases, mtaSts);
  }

  public Settings withMailbox(String m, char[] password, List<String> a) {
    return new Settings(hostname, domain, m, password, a, mtaSts);
  }

  public Settings withMtaSts(MtaStsConfig m) {
    return new Settings(hostname, domain, mailbox, mailboxPassword, aliases, m);
  }
}
