package org.darwinmail.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.darwinmail.admin.settings.Settings;
import org.darwinmail.admin.settings.SettingsEngine;
import org.darwinmail.admin.web.Unattended;
import org.darwinmail.config.ConfigException;
import org.darwinmail.config.MtaStsConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code darwinmail setup}: the first-run setup without the web wizard, for the appliance's first boot when its OVF
 * properties give a domain and an admin password (ARCHITECTURE.md, "Configuration"). The same path as the wizard
 * ({@link Unattended#complete}: one {@link SettingsEngine#apply}, the admin console's account, setup marked done), so
 * the admin listener then shows no setup code and no wizard. Safe to run again with the same arguments.
 */
@Command(name = "setup", description = "Set the server up without the web wizard: the first domain, its first "
    + "mailbox (postmaster@DOMAIN unless --mailbox) with the postmaster and abuse aliases, and the admin console's "
    + "account, all with one password; then the wizard is closed for good. Run it while the server is stopped.")
final class SetupCommand implements Callable<Integer> {
  @ParentCommand
  Main main;
  @Option(names = "--domain", required = true, description = "The first mail domain.")
  String domain;
  @Option(names = "--hostname", description = "The server's host name (kept in settings.toml).")
  String hostname;
  @Option(names = "--mailbox", description = "The first mailbox (default: postmaster@DOMAIN).")
  String mailbox;
  @Option(names = "--admin", defaultValue = "admin", description = "The admin console's user name (default: admin).")
  String admin;
  @Option(names = "--password-stdin", description = "Read the password from the first line of standard input.")
  boolean stdin;
  @Option(names = "--mta-sts", paramLabel = "MODE", description = "Publish an MTA-STS policy for the domain: "
      + "testing, enforce or none (RFC 8461; served on [listen] https, kept in settings.toml).")
  String mtaSts;
  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    if (main.cli.server() != null) {
      // The admin listener of the running server holds the wizard's state: two writers would disagree.
      throw new CliException("the server is running: finish setup in the web wizard, or stop the server first");
    }
    char[] password = UserCommand.password(main, stdin);
    String box = mailbox != null ? mailbox : "postmaster@" + domain;
    try {
      Settings settings = new Settings(hostname, domain, box, password, List.of());
      if (mtaSts != null) {
        settings = settings.withMtaSts(new MtaStsConfig(List.of(domain), mtaSts, null));
      }
      Unattended.complete(main.loadConfig().dataDir(), Main.services(main).directory(), settings, admin, null,
          password);
    } catch (SettingsEngine.Invalid | ConfigException e) {
      throw new CliException(e.getMessage());
    }
    // The domain's DKIM keys, made now as `domain add` makes them (the records to publish name them).
    DomainCommand.dkim(main).ensureKeys(org.darwinmail.store.Addresses.domain(domain));
    spec.commandLine().getOut().println("set up " + domain + ": mailbox " + box + ", admin console user " + admin
        + "; the wizard is closed");
    return 0;
  }
}
