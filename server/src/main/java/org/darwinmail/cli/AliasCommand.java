package org.darwinmail.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code darwinmail alias add|list|remove}: addresses that deliver to other addresses. */
@Command(name = "alias", description = "Manage aliases (SOURCE is an address, or @domain for a catch-all).",
    subcommands = {AliasCommand.Add.class, AliasCommand.ListAliases.class, AliasCommand.Remove.class})
final class AliasCommand {
  @ParentCommand
  Main main;

  @Command(name = "add", description = "Deliver mail for SOURCE to every TARGET (local or remote addresses).")
  static final class Add implements Callable<Integer> {
    @ParentCommand
    AliasCommand parent;
    @Parameters(index = "0", paramLabel = "SOURCE")
    String source;
    @Parameters(index = "1..*", arity = "1..*", paramLabel = "TARGET")
    List<String> targets;

    @Override
    public Integer call() {
      Main.services(parent.main).directory().addAlias(source, targets);
      return 0;
    }
  }

  @Command(name = "list", description = "List aliases: SOURCE -> TARGET, TARGET...")
  static final class ListAliases implements Callable<Integer> {
    @ParentCommand
    AliasCommand parent;
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
      if (!Main.hasData(parent.main, spec)) {
        return 0;
      }
      Main.services(parent.main).directory().aliases().forEach((s, t) ->
          spec.commandLine().getOut().println(s + " -> " + String.join(", ", t)));
      return 0;
    }
  }

  @Command(name = "remove", description = "Remove an alias, or only some of its targets.")
  static final class Remove implements Callable<Integer> {
    @ParentCommand
    AliasCommand parent;
    @Parameters(index = "0", paramLabel = "SOURCE")
    String source;
    @Parameters(index = "1..*", arity = "0..*", paramLabel = "TARGET")
    List<String> targets = List.of();

    @Override
    public Integer call() {
      Main.services(parent.main).directory().removeAlias(source, targets == null ? List.of() : targets);
      return 0;
    }
  }
}
