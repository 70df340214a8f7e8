package org.darwinmail.delivery;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import org.darwinmail.store.Account;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.Intake;
import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MailStore;
import org.darwinmail.store.MessageRow;
import org.darwinmail.store.StoreException;

/** Stores a received message into the mailboxes of local accounts: one row per account, all sharing one blob. */
public final class LocalDelivery {
  private final MailStore store;

  public LocalDelivery(MailStore store) {
    this.store = store;
  }

  /**
   * One account and the folder to deliver into (its INBOX when it has no such folder; null = INBOX).
   *
   * @param tag the folder is a sub-address's tag ("user+tag", RFC 5233), chosen by the sender: it names a folder
   *            ignoring case and never a special-use one (RFC 6154: Sent, Drafts, Trash, Junk, Archive...), so mail
   *            from outside cannot pose as the user's own sent mail or drafts
   */
  public record To(Account account, String folder, boolean tag) {}

  /** Each account with the same folder. */
  public static List<To> to(Collection<Account> accounts, String folder) {
    return accounts.stream().map(a -> new To(a, folder, false)).toList();
  }

  /** Each account into the folder a sub-address names, when it has such a folder. */
  public static List<To> tagged(Collection<Account> accounts, String tag) {
    return accounts.stream().map(a -> new To(a, tag, tag != null)).toList();
  }

  /**
   * RFC 5321 §4.4: final delivery inserts "Return-Path:" with the envelope sender at the beginning of the mail data
   * ("<>" for the null sender); a relayed copy has none.
   */
  public static String returnPath(String sender) {
    return "Return-Path: <" + org.darwinmail.store.Addresses.quoted(sender) + ">\r\n";
  }

  /** A copy of a stored message with {@link #returnPath} in front, for local delivery; durable when it returns. */
  public BlobRef withReturnPath(String sender, BlobRef blob) throws IOException {
    try (java.io.InputStream in = store.blobs().open(blob.hash()); BlobStore.BlobWriter w = store.blobs().create()) {
      w.write(returnPath(sender).getBytes(java.nio.charset.StandardCharsets.UTF_8));
      in.transferTo(w);
      return w.commit();
    }
  }

  /** Delivers into each account's INBOX in one transaction; durable when it returns. */
  public List<MessageRow> deliver(Collection<Account> accounts, BlobRef blob) {
    return deliver(accounts, blob, Mailbox.INBOX);
  }

  /**
   * Delivers into the named folder of each account (INBOX when the account has no such folder); durable when it
   * returns.
   */
  public List<MessageRow> deliver(Collection<Account> accounts, BlobRef blob, String folder) {
    return deliver(to(accounts, folder), blob);
  }

  /** Delivers into each account's folder, all in one transaction; durable when it returns. */
  public List<MessageRow> deliver(List<To> to, BlobRef blob) {
    return store.deliver(targets(to).stream().map(Intake.Target::mailboxId).toList(), blob,
        Instant.now());
  }

  /**
   * Delivers a message held in memory like {@link #deliver(Collection, BlobRef, String)}; durable when it returns
   * (through the intake journal: one device write), in the mailboxes moments later, before any read that starts
   * after it returns. Without a journal (a store opened alone) the blob and rows are stored now.
   */
  public void deliver(Collection<Account> accounts, BlobStore.Small body, String folder) throws IOException {
    deliver(to(accounts, folder), body);
  }

  /** As above, each account into its own folder, all in one journal record. */
  public void deliver(List<To> to, BlobStore.Small body) throws IOException {
    List<Intake.Target> targets = targets(to);
    Intake in = store.intake();
    if (in == null) {
      store.deliver(targets.stream().map(Intake.Target::mailboxId).toList(), store.blobs().store(body),
          Instant.now());
    } else {
      in.submit(targets, Instant.now(), body);
    }
  }

  /** Each account's folder (its INBOX when it has no such folder), once per account. */
  private List<Intake.Target> targets(List<To> to) {
    List<Intake.Target> out = new ArrayList<>();
    for (To t : new LinkedHashSet<>(to)) {
      Account a = t.account();
      long id = (t.tag() ? tagFolder(a, t.folder()) : t.folder() == null ? Optional.<Long>empty()
          : store.mailboxId(a.id(), t.folder()))
          .or(() -> store.mailboxId(a.id(), Mailbox.INBOX))
          .orElseGet(() -> store.createMailbox(a.id(), Mailbox.INBOX, null).id());
      if (out.stream().noneMatch(x -> x.accountId() == a.id())) { // one copy per account (its first folder)
        out.add(new Intake.Target(a.id(), id));
      }
    }
    if (out.isEmpty()) {
      throw new StoreException("no mailbox to deliver to");
    }
    return out;
  }

  /** The account's folder a tag names: the same name ignoring case (a sub-address is lower case), not special-use. */
  private Optional<Long> tagFolder(Account a, String tag) {
    return store.mailboxes(a.id()).stream()
        .filter(m -> m.name().equalsIgnoreCase(tag) && (m.specialUse() == null || m.specialUse().isEmpty()))
        .map(Mailbox::id).findFirst();
  }

  /**
   * True when delivering {@code incoming} more bytes would take the account over the limit in force (the
   * administrator's or the user's own, {@link Account#limitBytes}; 0 = none).
   */
  public boolean overQuota(Account a, long incoming) {
    long limit = a.limitBytes();
    return limit > 0 && store.usage(a.id()) + Math.max(incoming, 1) > limit;
  }
}
