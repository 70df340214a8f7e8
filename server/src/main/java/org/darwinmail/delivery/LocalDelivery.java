package org.darwinmail.delivery;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import org.darwinmail.store.Account;
import org.darwinmail.store.BlobRef;
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

  /** Delivers into each account's INBOX in one transaction; durable when it returns. */
  public List<MessageRow> deliver(Collection<Account> accounts, BlobRef blob) {
    return deliver(accounts, blob, Mailbox.INBOX);
  }

  /**
   * Delivers into the named folder of each account (INBOX when the account has no such folder); durable when it
   * returns.
   */
  public List<MessageRow> deliver(Collection<Account> accounts, BlobRef blob, String folder) {
    List<Long> ids = new ArrayList<>();
    for (Account a : new LinkedHashSet<>(accounts)) {
      long id = store.mailboxId(a.id(), folder)
          .or(() -> store.mailboxId(a.id(), Mailbox.INBOX))
          .orElseGet(() -> store.createMailbox(a.id(), Mailbox.INBOX, null).id());
      if (!ids.contains(id)) {
        ids.add(id);
      }
    }
    if (ids.isEmpty()) {
      throw new StoreException("no mailbox to deliver to");
    }
    return store.deliver(ids, blob, Instant.now());
  }

  /** True when delivering {@code incoming} more bytes would take the account over its quota (0 = none). */
  public boolean overQuota(Account a, long incoming) {
    return a.quotaBytes() > 0 && store.usage(a.id()) + Math.max(incoming, 1) > a.quotaBytes();
  }
}
