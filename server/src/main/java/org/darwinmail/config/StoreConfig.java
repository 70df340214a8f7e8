package org.darwinmail.config;

/**
 * The store ({@code [store]}).
 *
 * @param diskReserveMb free space (MiB) kept on the data directory's file system: below it new mail is refused
 *                      ({@code 452 4.3.1}, IMAP APPEND {@code NO [UNAVAILABLE]}) until space returns, so that what
 *                      was accepted can still be stored (Derby's log, the blobs of journaled mail). 1 GiB is about
 *                      1.5 % of the appliance's 64 GB data disk: hours of mail at a busy site, and room for Derby
 *                      to finish its work
 * @param engine        {@code derby} (the default: embedded, under the data directory) or {@code postgresql}
 *                      (issue 20: several nodes on one database; README, "Running on PostgreSQL"): the metadata
 *                      in PostgreSQL, no intake journal (a {@code 250} follows the commit there)
 * @param url           PostgreSQL only: {@code jdbc:postgresql://HOST[:PORT]/DATABASE}
 * @param user          PostgreSQL only: the role to connect as
 * @param passwordFile  PostgreSQL only: a file whose first line is the password (kept out of this file; read at
 *                      start, relative to the working directory)
 * @param poolSize      PostgreSQL only: connections per node
 */
public record StoreConfig(Long diskReserveMb, String engine, String url, String user, String passwordFile,
    Integer poolSize) {
  public static final String DERBY = "derby";
  public static final String POSTGRESQL = "postgresql";

  public StoreConfig {
    diskReserveMb = diskReserveMb == null ? 1024L : diskReserveMb;
    Checks.range("store.disk_reserve_mb", diskReserveMb, 0, 100_000_000);
    engine = engine == null ? DERBY : engine;
    url = url == null ? "" : url;
    user = user == null ? "" : user;
    passwordFile = passwordFile == null ? "" : passwordFile;
    poolSize = poolSize == null ? 16 : poolSize;
    Checks.range("store.pool_size", poolSize, 1, 1000);
    switch (engine) {
      case DERBY -> {
        if (!url.isEmpty() || !user.isEmpty() || !passwordFile.isEmpty()) {
          throw new ConfigException("store: url, user and password_file apply to engine = \"postgresql\" only");
        }
      }
      case POSTGRESQL -> {
        if (!url.startsWith("jdbc:postgresql://")) {
          throw new ConfigException("store.url: \"" + url + "\" is not a PostgreSQL JDBC URL"
              + " (jdbc:postgresql://HOST[:PORT]/DATABASE)");
        }
        if (user.isEmpty() || passwordFile.isEmpty()) {
          throw new ConfigException("store: engine = \"postgresql\" needs user and password_file");
        }
        java.nio.file.Path pw = java.nio.file.Path.of(passwordFile);
        if (!java.nio.file.Files.isRegularFile(pw) || !java.nio.file.Files.isReadable(pw)) {
          throw new ConfigException("store.password_file: " + passwordFile + " is not a readable file");
        }
      }
      default -> throw new ConfigException("store.engine: \"" + engine + "\" is not an engine (\"derby\" or"
          + " \"postgresql\")");
    }
  }

  public StoreConfig(Long diskReserveMb) {
    this(diskReserveMb, null, null, null, null, null);
  }

  public static StoreConfig defaults() {
    return new StoreConfig(null);
  }

  /** Is the store PostgreSQL (shared by every node), rather than the embedded Derby? */
  public boolean postgresql() {
    return POSTGRESQL.equals(engine);
  }

  /** The reserve in bytes. */
  public long diskReserveBytes() {
    return diskReserveMb << 20;
  }
}
