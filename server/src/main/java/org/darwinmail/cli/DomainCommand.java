package org.darwinmail.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code darwinmail domain add|list|remove}: the mail domains this server receives mail for. */
@Command(name = "domain", description = "Manage mail domains.", subcommands = {
    DomainCommand.Add.class, DomainCommand.ListDomains.class, DomainCommand.Remove.class})
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
