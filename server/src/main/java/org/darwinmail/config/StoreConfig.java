package org.darwinmail.config;

/**
 * The store ({@code [store]}).
 *
 * @param diskReserveMb free space (MiB) kept on the data directory's file system: below it new mail is refused
 *                      ({@code 452 4.3.1}, IMAP APPEND {@code NO [UNAVAILABLE]}) until space returns, so that what
 *                      was accepted can still be stored (Derby's log, the blobs of journaled mail). 1 GiB is about
 *                      1.5 % of the appliance's 64 GB data disk: hours of mail at a busy site, and room for Derby
 *                      to finish its work
 */
public record StoreConfig(Long diskReserveMb) {
  public StoreConfig {
    diskReserveMb = diskReserveMb == null ? 1024L : diskReserveMb;
    Checks.range("store.disk_reserve_mb", diskReserveMb, 0, 100_000_000);
  }

  public static StoreConfig defaults() {
    return new StoreConfig(null);
  }

  /** The reserve in bytes. */
  public long diskReserveBytes() {
    return diskReserveMb << 20;
  }
}
