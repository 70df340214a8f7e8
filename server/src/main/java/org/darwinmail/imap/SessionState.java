package org.darwinmail.imap;

import java.util.List;
import org.darwinmail.store.Account;

/**
 * What an IMAP connection knows between commands, which the handlers read and change: the state (RFC 3501 §3), the
 * account logged in, the selected mailbox, what ENABLE (or a command that enables it) turned on, and the SEARCHRES
 * result (RFC 5182). The transitions themselves are {@link ImapSession}'s.
 */
final class SessionState {
  State state = State.NOT_AUTHENTICATED;
  Account account;
  Selected selected;
  /** RFC 7162 §3.1: every untagged FETCH carries MODSEQ. */
  boolean condstore;
  /** RFC 7162 §3.2: VANISHED instead of EXPUNGE. */
  boolean qresync;
  /** RFC 6855 §3: mailbox names and strings in UTF-8. */
  boolean utf8;
  /** RFC 9051: IMAP4rev2 responses (no \Recent, ESEARCH for SEARCH, LIST after SELECT). */
  boolean rev2;
  /** RFC 9586 §3: UIDs only; no message sequence number in a command or a response (UIDFETCH, VANISHED). */
  boolean uidOnly;

  /**
   * The head of an untagged FETCH of the message {@code uid}: "* msn FETCH (", or "* uid UIDFETCH (" after ENABLE
   * UIDONLY (RFC 9586 §3.3: uidfetch-resp = uniqueid SP "UIDFETCH" SP msg-att).
   */
  String fetchHead(Selected s, long uid) {
    return uidOnly ? "* " + uid + " UIDFETCH (" : "* " + s.msn(uid) + " FETCH (";
  }

  /** The result saved by SEARCH RETURN (SAVE): "$" (RFC 5182). */
  List<Long> savedResult = List.of();
  /** The searches of the selected mailbox kept up to date (RFC 5267 §4: RETURN (UPDATE)), or null for none. */
  Contexts contexts;

  /** Enters the selected state with this view; "$" is empty again (RFC 5182 §2.1, RFC 9051 §6.4.4.1). */
  void select(Selected s) {
    selected = s;
    state = State.SELECTED;
    savedResult = List.of();
    contexts = null;
  }

  /** Leaves the selected state (its change subscription closed); nothing is sent. */
  void deselect() {
    Selected s = selected;
    if (s != null) {
      s.close();
    }
    selected = null;
    contexts = null;
    if (state == State.SELECTED) {
      state = State.AUTHENTICATED;
    }
  }
}
