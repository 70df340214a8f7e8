package org.darwinmail.smtp;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.BlobStore;

/**
 * A message being received, streamed into a blob. The header section is held back (at most
 * {@link #MAX_HEADER_BYTES}) until it is complete, so that headers can be added in front of it (Received:, and on
 * submission Date: and Message-ID:); the body goes straight to disk. Counts the client's bytes against the size
 * limit and the Received: headers against the loop limit.
 */
final class IncomingMessage {
  static final int MAX_HEADER_BYTES = 256 * 1024;

  private final BlobStore.BlobWriter blob;
  private final byte[] trace;
  private final long maxSize;
  private final int maxReceived;
  private final Function<List<Header>, String> extraHeaders;
  private byte[] head = new byte[8192];
  private int headLen;
  private boolean headerDone;
  private long size;
  private boolean tooBig;
  private int received;
  /** The Message-ID field as written (RFC 5322 §3.6.4), or the one submission added; "" when none: the trace's. */
  private String messageId = "";

  /** One header field, unfolded. */
  record Header(String name, String value) {}

  /**
   * @param trace        the Received: header to put first (CRLF-terminated)
   * @param extraHeaders given the message's headers, returns text to insert after the trace (CRLF-terminated), or ""
   */
  IncomingMessage(BlobStore.BlobWriter blob, String trace, long maxSize, int maxReceived,
      Function<List<Header>, String> extraHeaders) {
    this.blob = blob;
    this.trace = trace.getBytes(StandardCharsets.UTF_8);
    this.maxSize = maxSize;
    this.maxReceived = maxReceived;
    this.extraHeaders = extraHeaders;
  }

  void write(byte[] bytes) throws IOException {
    size += bytes.length;
    if (tooBig || size > maxSize) {
      tooBig = true;
      return;
    }
    if (headerDone) {
      blob.write(bytes, 0, bytes.length);
      return;
    }
    if (headLen + bytes.length > head.length) {
      byte[] n = new byte[Math.max(head.length * 2, headLen + bytes.length)];
      System.arraycopy(head, 0, n, 0, headLen);
      head = n;
    }
    System.arraycopy(bytes, 0, head, headLen, bytes.length);
    headLen += bytes.length;
    int end = headerEnd();
    if (end >= 0 || headLen > MAX_HEADER_BYTES) {
      flushHead(end >= 0 ? end : headLen);
    }
  }

  /**
   * Whether {@link #write} of {@code n} more bytes stays in memory: the blob's buffer keeps them without opening a
   * file ({@link BlobStore#SMALL}), or they are only counted (the message is already too big). Until the header
   * section is complete its end may come with these bytes, and then the trace and the added headers go in first:
   * with {@code noAddedHeaders} false (their function may read the directory) that answers false.
   */
  boolean staysInMemory(int n, boolean noAddedHeaders) {
    if (tooBig || size + n > maxSize) {
      return true;
    }
    if (headerDone) {
      return blob.size() + n <= BlobStore.SMALL;
    }
    return noAddedHeaders && (long) trace.length + headLen + n <= BlobStore.SMALL;
  }

  /** Index just after the blank line ending the header section, or -1. */
  private int headerEnd() {
    if (headLen >= 2 && head[0] == '\r' && head[1] == '\n') {
      return 0;
    }
    if (headLen >= 1 && head[0] == '\n') {
      return 0;
    }
    for (int i = 1; i < headLen; i++) {
      if (head[i] == '\n' && head[i - 1] == '\n') {
        return i + 1;
      }
      if (i >= 3 && head[i] == '\n' && head[i - 1] == '\r' && head[i - 2] == '\n' && head[i - 3] == '\r') {
        return i + 1;
      }
    }
    return -1;
  }

  private void flushHead(int headerBytes) throws IOException {
    headerDone = true;
    List<Header> headers = parse(new String(head, 0, headerBytes, StandardCharsets.UTF_8));
    for (Header h : headers) {
      if (h.name().equalsIgnoreCase("Received")) {
        received++;
      }
    }
    blob.write(trace, 0, trace.length);
    String added = extraHeaders.apply(headers);
    for (Header h : headers) {
      if (h.name().equalsIgnoreCase("Message-ID") && messageId.isEmpty()) {
        messageId = h.value();
      }
    }
    if (messageId.isEmpty() && !added.isEmpty()) {
      for (Header h : parse(added)) {
        if (h.name().equalsIgnoreCase("Message-ID")) {
          messageId = h.value();
        }
      }
    }
    if (messageId.length() > 300) {
      messageId = messageId.substring(0, 300);
    }
    byte[] extra = added.getBytes(StandardCharsets.UTF_8);
    blob.write(extra, 0, extra.length);
    blob.write(head, 0, headLen);
    head = null;
  }

  static List<Header> parse(String section) {
    List<Header> out = new ArrayList<>();
    String name = null;
    StringBuilder value = new StringBuilder();
    for (String line : section.split("\r?\n")) {
      if (line.isEmpty()) {
        break;
      }
      if ((line.charAt(0) == ' ' || line.charAt(0) == '\t') && name != null) {
        value.append(' ').append(line.strip());
        continue;
      }
      if (name != null) {
        out.add(new Header(name, value.toString().strip()));
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        name = null;
        continue;
      }
      name = line.substring(0, colon).strip();
      value.setLength(0);
      value.append(line.substring(colon + 1));
    }
    if (name != null) {
      out.add(new Header(name, value.toString().strip()));
    }
    return out;
  }

  boolean tooBig() {
    return tooBig;
  }

  boolean loop() {
    return received > maxReceived;
  }

  long size() {
    return size;
  }

  /** The message's Message-ID as written ("" when it has none), known once the header section was read. */
  String messageId() {
    return messageId;
  }

  /** Completes the blob durably (header section flushed first if the message had no body). */
  BlobRef commit() throws IOException {
    complete();
    return blob.commit();
  }

  /**
   * Completes the message and, when it is small enough to be still in memory, returns it (see
   * {@link BlobStore.BlobWriter#small()}); otherwise null, and {@link #commit} or {@link #stage} follow.
   */
  BlobStore.Small small() throws IOException {
    complete();
    return blob.small();
  }

  /**
   * Completes the message in its temporary file, not durable yet, and returns that file: for checks that must read
   * the whole message before it is stored (then {@link #abort} removes the file).
   */
  java.nio.file.Path stage() throws IOException {
    complete();
    return blob.stage();
  }

  private void complete() throws IOException {
    if (!headerDone) {
      flushHead(headLen);
    }
    if (loop()) {
      throw new SmtpException(Reply.MAIL_LOOP);
    }
  }

  void abort() {
    blob.abort();
  }
}
