package org.darwinmail.store;

/**
 * Locks that every node sharing the database honours (issue 20; ARCHITECTURE.md, "Several nodes"): POP3's maildrop
 * lock (RFC 1939 §8), exclusive; a blob's claim (shared, by every writer about to commit a row referring to the blob)
 * against its collection (exclusive, by the collector deleting it), see {@link BlobStore}. On PostgreSQL ({@link PostgresClusterLocks}) they are session advisory locks on one
 * connection of the node's own, outside the pool: PostgreSQL frees them when that connection ends, so a node that
 * dies holds nothing. On Derby ({@link #LOCAL}), one node: every lock is granted, the caller's own (in-memory) lock
 * being the lock.
 *
 * <p>A caller takes a given lock at most once at a time per node (advisory locks of one connection stack): it keeps
 * its own in-memory lock and asks here only when it got that one.
 */
public interface ClusterLocks extends AutoCloseable {
  /** The maildrop locks' space ("POP3" in ASCII); a lock's id is the account's id. */
  int MAILDROP = 0x504f5033;
  /** The blob locks' space ("BLOB" in ASCII); a lock's id is the first 32 bits of the blob's hash. */
  int BLOB = 0x424c4f42;

  /** One node (Derby): nothing to share. */
  ClusterLocks LOCAL = new ClusterLocks() {
    @Override
    public boolean tryLock(int space, long id) {
      return true;
    }

    @Override
    public void unlock(int space, long id) {}

    @Override
    public boolean tryLockShared(int space, long id) {
      return true;
    }

    @Override
    public void unlockShared(int space, long id) {}

    @Override
    public void close() {}
  };

  /** The locks of {@code db}: advisory locks on PostgreSQL, {@link #LOCAL} on Derby. */
  static ClusterLocks open(SqlRunner db) {
    return db instanceof PostgresDatabase pg ? new PostgresClusterLocks(pg) : LOCAL;
  }

  /** Takes lock {@code id} of {@code space} unless another node holds it; does not wait. */
  boolean tryLock(int space, long id);

  /** Releases a lock this node took. */
  void unlock(int space, long id);

  /**
   * Takes lock {@code id} of {@code space} in shared mode unless another node holds it exclusively; does not wait.
   * Shared locks stack: each one taken is released by one {@link #unlockShared}. A node's own exclusive and shared
   * locks do not exclude each other (PostgreSQL's locks do not conflict within a session).
   */
  boolean tryLockShared(int space, long id);

  /** Releases one shared lock this node took. */
  void unlockShared(int space, long id);

  /**
   * Which connection holds this node's locks now: a number that changes each time it is replaced (0 on one node).
   * A lock taken under one session and checked under it by {@link #heldThrough} has been held without a gap.
   */
  default long session() {
    return 0;
  }

  /**
   * Takes the shared lock {@code id} of {@code space} for the transaction of {@code tx} too (released at its commit
   * or rollback; not waited for), then tells whether session {@code session} ({@link #session}), on which this node
   * took it, still holds it: when both hold, the lock has been held from when it was taken until {@code tx} ends,
   * whatever happens to the locks' connection meanwhile. False when the transaction could not take it (another
   * node collects the blob) or the session is gone (its connection broke: PostgreSQL freed its locks).
   */
  default boolean heldThrough(java.sql.Connection tx, int space, long id, long session) throws java.sql.SQLException {
    return true;
  }

  @Override
  void close();
}
