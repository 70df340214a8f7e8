package org.darwinmail.imap;

import java.util.List;
import org.darwinmail.mime.MimePart;

/**
 * One FETCH data item (RFC 3501 §6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ, RFC 8514 SAVEDATE, RFC 8474 OBJECTID,
 * RFC 8970 PREVIEW).
 */
public sealed interface FetchItem {
  record Flags() implements FetchItem {}

  record Uid() implements FetchItem {}

  record InternalDate() implements FetchItem {}

  record Rfc822Size() implements FetchItem {}

  record Envelope() implements FetchItem {}

  /** BODYSTRUCTURE ({@code extensible}) or BODY (the non-extensible form). */
  record Structure(boolean extensible) implements FetchItem {}

  record ModSeq() implements FetchItem {}

  /** RFC 8514 §4.1. */
  record SaveDate() implements FetchItem {}

  /** RFC 8474 §5.1. */
  record EmailId() implements FetchItem {}

  /** RFC 8474 §5.2. */
  record ThreadId() implements FetchItem {}

  /** RFC 8970 §3; {@code lazy}: PREVIEW (LAZY). */
  record Preview(boolean lazy) implements FetchItem {}

  /** What a section names inside a part (RFC 3501 §6.4.5 section-msgtext / section-text). */
  enum Spec { ALL, HEADER, HEADER_FIELDS, HEADER_FIELDS_NOT, TEXT, MIME }

  /**
   * BODY[section]<partial>, BODY.PEEK, RFC822, RFC822.HEADER, RFC822.TEXT, BINARY[...] and BINARY.SIZE.
   *
   * @param label   the item name as it appears in the response ("BODY[1.HEADER]", "RFC822.TEXT")
   * @param path    part numbers (empty for the whole message)
   * @param partial byte origin and length, or null
   */
  record Section(String label, boolean peek, boolean binary, boolean sizeOnly, int[] path, Spec spec,
      List<String> fields, long[] partial) implements FetchItem {
    public boolean setsSeen() {
      return !peek;
    }

    /**
     * This section's bytes in the message {@code root} (without a partial range), or null when the part does not
     * exist; FETCH and CATENATE's URLs read sections through it.
     */
    byte[] of(MimePart root) {
      MimePart p = root.part(path);
      if (p == null) {
        return null;
      }
      // HEADER / TEXT of a part name the encapsulated message of a message/rfc822 part (RFC 3501 §6.4.5)
      MimePart msg = path.length == 0 ? root : p.message;
      return switch (spec) {
        case ALL -> path.length == 0 ? root.bytes(root.start, root.end) : p.bodyBytes();
        case MIME -> p.headerBytes();
        case HEADER -> msg == null ? new byte[0] : msg.headerBytes();
        case TEXT -> msg == null ? new byte[0] : msg.bodyBytes();
        case HEADER_FIELDS -> msg == null ? new byte[0] : msg.headerFields(fields, false);
        case HEADER_FIELDS_NOT -> msg == null ? new byte[0] : msg.headerFields(fields, true);
      };
    }
  }
}
