package org.darwinmail.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code darwinmail domain add|list|remove}: the mail domains this server receives mail for. */
@Command(name = "domain", description = "Manage mail domains.", subcommands = {
    DomainCommand.Add.class, DomainCommand.ListDomains.class, DomainCommand.Remove.class, DomainCommand.Dns.class})
final class DomainCommand {
  @ParentCommand
  Main main;

  @Command(name = "add", description = "Add a domain this server receives mail for.")
  static final class Add implements Callable<Integer> {
    @ParentCommand
    DomainCommand parent;
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    public Integer call() {
      Main.services(parent.main).directory().addDomain(name);
      dkim(parent.main).ensureKeys(org.darwinmail.store.Addresses.domain(name)); // its DKIM keys, made now
      return 0;
    }
  }

  /**
   * The DKIM keys: the running server's, or the same store opened by this process (its files, and on PostgreSQL the
   * shared database, whose key every node signs with).
   */
  static org.darwinmail.delivery.Dkim dkim(Main main) {
    org.darwinmail.DarwinMail server = main.cli.server();
    if (server != null && server.delivery() != null) {
      return server.delivery().dkim();
    }
    return Main.services(main).delivery().dkim();
  }

  /**
   * The records to publish for a domain, in zone-file syntax: MX (RFC 5321 §5.1), SPF (RFC 7208), the DKIM key
   * (RFC 6376 §3.6.1) and DMARC (RFC 7489 §6.3); MTA-STS and TLS-RPT when the domain is in {@code [mta_sts]}.
   */
  @Command(name = "dns", description = "Print the DNS records to publish for a domain (MX, SPF, DKIM, DMARC; "
      + "MTA-STS and TLS-RPT when [mta_sts] lists it).")
  static final class Dns implements Callable<Integer> {
    @ParentCommand
    DomainCommand parent;
    @Parameters(paramLabel = "NAME")
    String name;
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      String d = org.darwinmail.store.Addresses.domain(name);
      if (d == null || !parent.main.cli.hasData(parent.main.config)
          || !Main.services(parent.main).directory().domains().contains(d)) {
        throw new CliException("no such domain: " + name);
      }
      org.darwinmail.delivery.Dkim dkim = dkim(parent.main);
      String host = parent.main.loadConfig().hostname();
      var out = spec.commandLine().getOut();
      out.println("; DNS records to publish for " + d);
      out.println(d + ".\tIN\tMX\t10 " + host + ".");
      out.println(d + ".\tIN\tTXT\t\"v=spf1 mx -all\"");
      for (org.darwinmail.delivery.Dkim.Algorithm a : org.darwinmail.delivery.Dkim.Algorithm.values()) {
        String key = dkim.publicRecord(d, a);
        StringBuilder quoted = new StringBuilder();
        for (int i = 0; i < key.length(); i += 250) {
          quoted.append(i == 0 ? "" : " ").append('"').append(key, i, Math.min(key.length(), i + 250)).append('"');
        }
        out.println(dkim.selector(a) + "._domainkey." + d + ".\tIN\tTXT\t( " + quoted + " )");
      }
      out.println("_dmarc." + d + ".\tIN\tTXT\t\"v=DMARC1; p=quarantine; rua=mailto:postmaster@" + d + "\"");
      var mtaSts = parent.main.loadConfig().mtaSts();
      if (mtaSts.publishes(d) && !parent.main.loadConfig().listen().https().isEmpty()) {
        // RFC 8461 §3.1 (the id of the policy served on [listen] https), §3.3 (its host); RFC 8460 §3 (TLS-RPT)
        var policy = new org.darwinmail.admin.dns.MtaStsPolicy(mtaSts.mode(), host, mtaSts.maxAge());
        out.println("_mta-sts." + d + ".\tIN\tTXT\t\"" + policy.record() + "\"");
        out.println("mta-sts." + d + ".\tIN\tCNAME\t" + host + ".");
        out.println("_smtp._tls." + d + ".\tIN\tTXT\t\"v=TLSRPTv1; rua=mailto:postmaster@" + d + "\"");
      }
      return 0;
    }
  }

  @Command(name = "list", description = "List the domains.")
  static final class ListDomains implements Callable<Integer> {
    @ParentCommand
    DomainCommand parent;
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      if (!Main.hasData(parent.main, spec)) {
        return 0;
      }
      for (String d : Main.services(parent.main).directory().domains()) {
        spec.commandLine().getOut().println(d);
      }
      return 0;
    }
  }

  @Command(name = "remove", description = "Remove a domain that has no accounts.")
  static final class Remove implements Callable<Integer> {
    @ParentCommand
    DomainCommand parent;
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    public Integer call() {
      Main.services(parent.main).directory().removeDomain(name);
      return 0;
    }
  }
}
