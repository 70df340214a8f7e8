package org.darwinmail.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.darwinmail.store.SenderRepository.Block;
import org.darwinmail.guard.SendGuard;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code darwinmail sender blocked|unblock}: accounts the abuse guard blocked from sending (ARCHITECTURE.md,
 * "The abuse guard and login throttling" and "The CLI and the control socket").
 */
@Command(name = "sender", description = "Accounts blocked from sending after a burst of mail.",
    subcommands = {SenderCommand.Blocked.class, SenderCommand.Unblock.class})
final class SenderCommand {
  @ParentCommand
  Main main;

  static SendGuard guard(SenderCommand c) {
    return Main.services(c.main).guard().sends();
  }

  @Command(name = "blocked", description = "List blocked accounts: ADDRESS, since when (UTC), why.")
  static final class Blocked implements Callable<Integer> {
    @ParentCommand
    SenderCommand parent;
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
      if (!Main.hasData(parent.main, spec)) {
        return 0;
      }
      List<Block> blocks = guard(parent).blocked();
      for (Block b : blocks) {
        spec.commandLine().getOut().println(b.account() + "\t" + b.since() + "\t" + b.reason());
      }
      return 0;
    }
  }

  @Command(name = "unblock", description = "Lift the block of ADDRESS and release its held mail (or delete it).")
  static final class Unblock implements Callable<Integer> {
    @ParentCommand
    SenderCommand parent;
    @Spec
    CommandSpec spec;
    @Parameters(index = "0", paramLabel = "ADDRESS")
    String address;
    @Option(names = "--delete-held", description = "Delete the mail held in the queue instead of sending it.")
    boolean deleteHeld;

    @Override
    public Integer call() {
      SendGuard.Unblocked u = guard(parent).unblock(address.trim(), deleteHeld);
      if (!u.wasBlocked()) {
        throw new CliException(address + " is not blocked");
      }
      QueueCommand.wake(parent.main); // the released mail is due now
      spec.commandLine().getOut().println(deleteHeld
          ? address + " unblocked; " + u.deleted() + " held message(s) deleted"
          : address + " unblocked; " + u.released() + " held message(s) released");
      return 0;
    }
  }
}
