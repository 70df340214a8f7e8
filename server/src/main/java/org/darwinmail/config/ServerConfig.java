package org.darwinmail.config;

import java.nio.file.Path;

/**
 * The whole configuration (TOML). Every section is a record in this package; a missing key takes the
 * default documented beside it, an unknown key is an error naming it (see {@link ConfigLoader}).
 *
 * @param hostname HELO name and the name in Received: headers
 * @param dataDir  everything that changes at run time: database, blobs, TLS keys, runtime settings
 * @param store    the free-space reserve of the data disk ({@code [store]})
 * @param blobs    where message bodies are kept ({@code [blobs]}: the data directory, or an S3 bucket)
 * @param backup   scheduled backups and their retention ({@code [backup]})
 * @param mtaSts   the MTA-STS policy published for some mail domains ({@code [mta_sts]})
 */
public record ServerConfig(
    String hostname,
    Path dataDir,
    ListenConfig listen,
    DnsConfig dns,
    TlsConfig tls,
    SmtpConfig smtp,
    ImapConfig imap,
    Pop3Config pop3,
    DeliveryConfig delivery,
    GuardConfig guard,
    StoreConfig store,
    BlobsConfig blobs,
    BackupConfig backup,
    MtaStsConfig mtaSts) {

  public ServerConfig {
    hostname = hostname == null || hostname.isBlank() ? "localhost" : hostname.trim();
    dataDir = dataDir == null ? Path.of(ConfigPaths.DEFAULT_DATA_DIR) : dataDir;
    listen = listen == null ? ListenConfig.defaults() : listen;
    dns = dns == null ? new DnsConfig(null, null) : dns;
    tls = tls == null ? new TlsConfig(null, null) : tls;
    smtp = smtp == null ? SmtpConfig.defaults() : smtp;
    imap = imap == null ? ImapConfig.defaults() : imap;
    pop3 = pop3 == null ? Pop3Config.defaults() : pop3;
    delivery = delivery == null ? DeliveryConfig.defaults() : delivery;
    guard = guard == null ? GuardConfig.defaults() : guard;
    store = store == null ? StoreConfig.defaults() : store;
    blobs = blobs == null ? BlobsConfig.defaults() : blobs;
    backup = backup == null ? BackupConfig.defaults() : backup;
    mtaSts = mtaSts == null ? MtaStsConfig.defaults() : mtaSts;
  }

  /** Without [blobs] and [backup] sections: bodies in the data directory, no scheduled backups. */
  public ServerConfig(String hostname, Path dataDir, ListenConfig listen, DnsConfig dns, TlsConfig tls,
      SmtpConfig smtp, ImapConfig imap, Pop3Config pop3, DeliveryConfig delivery, GuardConfig guard,
      StoreConfig store) {
    this(hostname, dataDir, listen, dns, tls, smtp, imap, pop3, delivery, guard, store, null, null, null);
  }

  /** A configuration with every default, data in {@code dataDir}. */
  public static ServerConfig defaults(Path dataDir) {
    return new ServerConfig(null, dataDir, null, null, null, null, null, null, null, null, null, null, null, null);
  }

  public ServerConfig withListen(ListenConfig l) {
    return new ServerConfig(hostname, dataDir, l, dns, tls, smtp, imap, pop3, delivery, guard, store, blobs, backup,
        mtaSts);
  }

  public ServerConfig withDns(DnsConfig d) {
    return new ServerConfig(hostname, dataDir, listen, d, tls, smtp, imap, pop3, delivery, guard, store, blobs,
        backup, mtaSts);
  }

  public ServerConfig withSmtp(SmtpConfig s) {
    return new ServerConfig(hostname, dataDir, listen, dns, tls, s, imap, pop3, delivery, guard, store, blobs,
        backup, mtaSts);
  }

  public ServerConfig withHostname(String h) {
    return new ServerConfig(h, dataDir, listen, dns, tls, smtp, imap, pop3, delivery, guard, store, blobs, backup,
        mtaSts);
  }

  public ServerConfig withDelivery(DeliveryConfig d) {
    return new ServerConfig(hostname, dataDir, listen, dns, tls, smtp, imap, pop3, d, guard, store, blobs, backup,
        mtaSts);
  }

  public ServerConfig withImap(ImapConfig i) {
    return new ServerConfig(hostname, dataDir, listen, dns, tls, smtp, i, pop3, delivery, guard, store, blobs,
        backup, mtaSts);
  }

  public ServerConfig withPop3(Pop3Config p) {
    return new ServerConfig(hostname, dataDir, listen, dns, tls, smtp, imap, p, delivery, guard, store, blobs,
        backup, mtaSts);
  }

  public ServerConfig withStore(StoreConfig s) {
    return new ServerConfig(hostname, dataDir, listen, dns, tls, smtp, imap, pop3, delivery, guard, s, blobs, backup,
        mtaSts);
  }

  public ServerConfig withBlobs(BlobsConfig b) {
    return new ServerConfig(hostname, dataDir, listen, dns, tls, smtp, imap, pop3, delivery, guard, store, b, backup,
        mtaSts);
  }

  public ServerConfig withBackup(BackupConfig b) {
    return new ServerConfig(hostname, dataDir, listen, dns, tls, smtp, imap, pop3, delivery, guard, store, blobs, b,
        mtaSts);
  }

  public ServerConfig withMtaSts(MtaStsConfig m) {
    return new ServerConfig(hostname, dataDir, listen, dns, tls, smtp, imap, pop3, delivery, guard, store, blobs,
        backup,
        m);
  }

  public ServerConfig withGuard(GuardConfig g) {
    return new ServerConfig(hostname, dataDir, listen, dns, tls, smtp, imap, pop3, delivery, g, store, blobs, backup,
        mtaSts);
  }
}
