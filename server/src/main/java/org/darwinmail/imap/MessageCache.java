package org.darwinmail.imap;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;
import org.darwinmail.mime.MimePart;
import org.darwinmail.store.BlobStore;

/**
 * Parsed messages by blob hash, least recently used first out, bounded by total bytes. Blobs are immutable, so an
 * entry never goes stale; FETCH of headers and structure for a mailbox then costs one read per message.
 */
final class MessageCache {
  private static final long MAX_BYTES = 64L * 1024 * 1024;
  private static final int MAX_CACHED_MESSAGE = 4 * 1024 * 1024;
  private static final Map<String, MimePart> CACHE = new LinkedHashMap<>(256, 0.75f, true);
  private static final Map<String, Integer> SIZES = new LinkedHashMap<>();
  private static long total;

  private MessageCache() {}

  static MimePart get(BlobStore blobs, String hash) {
    synchronized (CACHE) {
      MimePart p = CACHE.get(hash);
      if (p != null) {
        return p;
      }
    }
    byte[] data;
    try {
      data = Files.readAllBytes(blobs.path(hash));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    MimePart p = MimePart.parse(data);
    if (data.length <= MAX_CACHED_MESSAGE) {
      synchronized (CACHE) {
        if (CACHE.put(hash, p) == null) {
          SIZES.put(hash, data.length);
          total += data.length;
        }
        var it = CACHE.entrySet().iterator();
        while (total > MAX_BYTES && it.hasNext()) {
          var e = it.next();
          Integer s = SIZES.remove(e.getKey());
          total -= s == null ? 0 : s;
          it.remove();
        }
      }
    }
    return p;
  }
}
