package org.darwinmail.imap;

import java.util.List;
import org.apache.james.mime4j.dom.address.Address;
import org.apache.james.mime4j.dom.address.AddressList;
import org.apache.james.mime4j.dom.address.Group;
import org.apache.james.mime4j.dom.address.Mailbox;
import org.darwinmail.mime.MimePart;

/** Sort values of addresses beyond RFC 5256's addr-mailbox. */
final class SortValues {
  private SortValues() {}

  /**
   * RFC 5957 §3 (SORT=DISPLAY): the display sort value of the first address of {@code header}: a group's name; else
   * the decoded addr-name ENVELOPE gives (a bare "user@host (Name)" takes its comment, as in ENVELOPE); else
   * addr-mailbox "@" addr-host; else addr-mailbox; else "". In i;unicode-casemap form (RFC 5051).
   */
  static String display(String header) {
    if (header == null || header.isBlank()) {
      return "";
    }
    try {
      AddressList l = MimePart.addresses(header);
      if (l.isEmpty()) {
        return "";
      }
      Address a = l.get(0);
      String v;
      if (a instanceof Group g) {
        v = g.getName();
      } else if (a instanceof Mailbox mb) {
        v = mb.getName();
        if (v == null || v.isBlank()) {
          boolean allMailboxes = l.stream().allMatch(x -> x instanceof Mailbox);
          List<String> comments = allMailboxes ? Render.comments(header, l.size()) : null;
          v = comments == null ? null : comments.get(0);
        }
        if (v == null || v.isBlank()) {
          String local = mb.getLocalPart();
          String host = mb.getDomain();
          v = local == null ? "" : host == null || host.isEmpty() ? local : local + "@" + host;
        }
      } else {
        v = "";
      }
      return v == null ? "" : Casemap.key(v.strip());
    } catch (RuntimeException e) {
      return ""; // unreadable: sorts first, as for SORT FROM
    }
  }
}
