package org.darwinmail.delivery;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.store.Account;
import org.darwinmail.store.Addresses;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.Directory;
import org.darwinmail.store.TraceRepository.Event;

/**
 * Accepting a message: the one place that decides where accepted mail goes (ARCHITECTURE.md, "The data path of one
 * message"): the intake journal or the blob store, local mailboxes (INBOX, a sub-address's folder, Junk) and the
 * outbound queue, with {@code Return-Path:} on every local copy (RFC 5321 §4.4). SMTP ({@link #accept}), the
 * delivery engine's DSNs and the abuse guard's postmaster notice ({@link #submit}) all call it; it also says who the
 * postmaster is. Durable when a method returns: the caller may then answer 250 (ARCHITECTURE.md, "Durability rules").
 * Wired once, in {@code DarwinMail.Services}; no protocol is imported here.
 */
public final class Acceptance {
  private final Directory directory;
  private final BlobStore blobs;
  private final LocalDelivery local;
  /** The outbound queue, or null where none runs (a CLI process; the abuse guard, built before the engine). */
  private final Outbound outbound;
  private final String hostname;
  /** The admin mailbox as configured ({@code guard.send.postmaster}), "" when not. */
  private final String admin;
  /** The delivery trace's writer, or null (nothing traced: tests that make their own). */
  private final TraceLog trace;

  public Acceptance(ServerConfig config, Directory directory, BlobStore blobs, LocalDelivery local,
      Outbound outbound) {
    this(directory, blobs, local, outbound, config.hostname(), config.guard().send().postmaster(), null);
  }

  private Acceptance(Directory directory, BlobStore blobs, LocalDelivery local, Outbound outbound, String hostname,
      String admin, TraceLog trace) {
    this.trace = trace;
    this.directory = directory;
    this.blobs = blobs;
    this.local = local;
    this.outbound = outbound;
    this.hostname = hostname;
    this.admin = admin == null ? "" : admin;
  }

  /** The same service queuing remote mail through {@code queue} (the delivery engine, once it runs). */
  public Acceptance via(Outbound queue) {
    return new Acceptance(directory, blobs, local, queue, hostname, admin, trace);
  }

  /** The same service recording what it accepts in the delivery trace {@code log}. */
  public Acceptance tracing(TraceLog log) {
    return new Acceptance(directory, blobs, local, outbound, hostname, admin, log);
  }

  /** The delivery trace's writer, or null. */
  public TraceLog traceLog() {
    return trace;
  }

  /** A recipient as accepted: the address as given and where mail to it goes. */
  public record Recipient(String address, Directory.Resolution resolution) {}

  /**
   * A message's envelope.
   *
   * @param sender     the envelope sender ("" for the null sender)
   * @param account    the authenticated account that submitted it, or null
   * @param quarantine a DMARC policy quarantined it: local copies go to Junk
   */
  public record Envelope(String sender, List<Recipient> recipients, boolean smtputf8, String account,
      boolean quarantine) {}

  /** What became of a message: local copies made (one per account) and remote recipients queued. */
  public record Receipt(int local, int queued) {
    public boolean none() {
      return local == 0 && queued == 0;
    }
  }

  // ---- who -------------------------------------------------------------------------------------------------

  /** RFC 5321 §4.5.1: "postmaster" without a domain is postmaster@ the first local domain (else the host name). */
  public String postmaster() {
    List<String> domains = directory.domains();
    return "postmaster@" + (domains.isEmpty() ? hostname : domains.getFirst());
  }

  /** The admin mailbox, told of blocks: the configured one ({@code guard.send.postmaster}), else {@link #postmaster}. */
  public String admin() {
    return admin.isEmpty() ? postmaster() : admin;
  }

  /** Whether mail for remote recipients can be queued here (the delivery engine runs). */
  public boolean relays() {
    return outbound != null;
  }

  /** True when delivering {@code incoming} more bytes would take the account over its quota (0 = none). */
  public boolean overQuota(Account a, long incoming) {
    return local.overQuota(a, incoming);
  }

  /**
   * The trace header a message gets as it is received (RFC 5321 §4.4): {@code Return-Path:} when every recipient is
   * local; "" when it is also relayed (its local copy then gets one from {@link #accept}).
   */
  public static String receivedReturnPath(String sender, List<Recipient> recipients) {
    boolean relayed = recipients.stream().anyMatch(r -> !r.resolution().remote().isEmpty());
    return relayed ? "" : LocalDelivery.returnPath(sender);
  }

  // ---- accepting -------------------------------------------------------------------------------------------

  /**
   * A received message (SMTP): queues it for its remote recipients and stores it for its local ones; durable when
   * it returns. A small message still in memory ({@code small}, whose {@code blob} is only its reference) for local
   * recipients only goes through the intake journal: durable in one device write. Otherwise {@code blob} is durable
   * already and carries {@link #receivedReturnPath}.
   */
  public Receipt accept(Envelope e, BlobRef blob, BlobStore.Small small) throws IOException {
    return accept(e, blob, small, Outbound.Origin.NONE);
  }

  /** {@link #accept}, recording in the delivery trace where the message came from. */
  public Receipt accept(Envelope e, BlobRef blob, BlobStore.Small small, Outbound.Origin origin) throws IOException {
    Receipt r = store(e, blob, small, origin);
    RECEIVED.increment();
    return r;
  }

  /** Messages received (SMTP), not those the server writes itself: the admin console's "mail in". */
  private static final io.micrometer.core.instrument.Counter RECEIVED =
      io.micrometer.core.instrument.Metrics.counter("darwinmail.messages.received");

  private Receipt store(Envelope e, BlobRef blob, BlobStore.Small small, Outbound.Origin origin)
      throws IOException {
    List<LocalDelivery.To> to = new ArrayList<>();
    List<String> remote = new ArrayList<>();
    for (Recipient r : e.recipients()) {
      // quarantined mail goes to Junk; a sub-address names a folder (RFC 5233); INBOX otherwise
      to.addAll(e.quarantine() ? LocalDelivery.to(r.resolution().accounts(), "Junk")
          : LocalDelivery.tagged(r.resolution().accounts(), r.resolution().folder()));
      for (String a : r.resolution().remote()) {
        if (!remote.contains(a)) {
          remote.add(a);
        }
      }
    }
    if (!remote.isEmpty() && outbound == null) {
      throw new IllegalStateException("no outbound queue for " + remote.size() + " remote recipient(s)");
    }
    if (small != null && !remote.isEmpty()) {
      blobs.store(small); // the queue refers to the blob
      small = null;
    }
    if (!remote.isEmpty()) {
      outbound.enqueue(e.sender(), remote, blob, e.smtputf8(), e.account(), origin);
    }
    if (!to.isEmpty() && small != null) {
      local.deliver(to, small);
    } else if (!to.isEmpty()) {
      local.deliver(to, remote.isEmpty() ? blob : local.withReturnPath(e.sender(), blob));
    }
    if (!to.isEmpty()) {
      traceLocal(e, to, blob.size(), origin);
    }
    return new Receipt((int) to.stream().map(t -> t.account().id()).distinct().count(), remote.size());
  }

  /**
   * The delivery trace of local delivery, written behind (no commit on the path that answers the client): each
   * recipient that has a local mailbox "received", then each copy "stored" with its account and folder. Remote
   * recipients are traced by the queue, in its own transaction ("queued").
   */
  private void traceLocal(Envelope e, List<LocalDelivery.To> to, long size, Outbound.Origin origin) {
    if (trace == null) {
      return;
    }
    Instant now = Instant.now();
    String sender = e.sender() == null ? "" : e.sender();
    for (Recipient r : e.recipients()) {
      if (!r.resolution().accounts().isEmpty()) {
        trace.add(new Event(now, "received", 0, origin.messageId(), sender,
            r.address(), origin.client(), size, "", origin.client().isEmpty() ? "written by this server"
                : "from " + origin.client() + (e.account() == null ? "" : ", submitted by " + e.account())));
      }
    }
    for (LocalDelivery.To t : to) {
      trace.add(new Event(now, "stored", 0, origin.messageId(), sender,
          t.account().address(), origin.client(), size, "", "mailbox " + (t.folder() == null ? "INBOX"
              : t.tag() ? t.folder() + " (INBOX when there is no such folder)" : t.folder()) + " of "
              + t.account().address()));
    }
  }

  /**
   * A message the server writes itself (a DSN, a notice; later the admin console's): {@code message} without
   * {@code Return-Path:}, to addresses resolved here (a local domain's through the directory: accounts, aliases,
   * postmaster; any other queued as it is). Remote recipients are skipped where no queue runs ({@link #relays}).
   * Durable when it returns.
   */
  public Receipt submit(String sender, List<String> recipients, byte[] message, boolean smtputf8) throws IOException {
    List<Recipient> rs = new ArrayList<>();
    for (String address : recipients) {
      String a = Addresses.normalize(address);
      Directory.Resolution res = a != null && directory.isLocalDomain(Addresses.domainOf(a)) ? directory.resolve(a)
          : new Directory.Resolution(List.of(), List.of(address));
      if (outbound == null && !res.remote().isEmpty()) {
        res = new Directory.Resolution(res.accounts(), List.of());
      }
      if (!res.isEmpty()) {
        rs.add(new Recipient(address, res));
      }
    }
    if (rs.isEmpty()) {
      return new Receipt(0, 0);
    }
    BlobRef blob;
    try (BlobStore.BlobWriter w = blobs.create()) {
      w.write(receivedReturnPath(sender, rs).getBytes(StandardCharsets.UTF_8));
      w.write(message);
      blob = w.commit();
    }
    String messageId = "";
    try {
      messageId = DeliveryLog.summary(new ByteArrayInputStream(message)).messageId();
    } catch (IOException e) {
      // cannot happen reading an array
    }
    return store(new Envelope(sender, rs, smtputf8, null, false), blob, null, new Outbound.Origin("", messageId));
  }
}
