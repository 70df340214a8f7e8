package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * CAPABILITY as the command table builds it, whole, in each state (RFC 9051 §7.2.2): before login with and without
 * TLS, with the login refused in the clear (LOGINDISABLED, RFC 9051 §6.2.3), and after login.
 */
class VerbTest {
  private static final String REST = "SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN"
      + " LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE ESEARCH SEARCHRES CONDSTORE QRESYNC QUOTA"
      + " QUOTASET QUOTA=RES-STORAGE APPENDLIMIT=52428800 STATUS=SIZE UTF8=ACCEPT UIDONLY SORT SORT=DISPLAY ESORT"
      + " CONTEXT=SEARCH CONTEXT=SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES BINARY COMPRESS=DEFLATE MULTIAPPEND"
      + " CATENATE URLAUTH REPLACE SAVEDATE OBJECTID PREVIEW NOTIFY";

  static Stream<Arguments> states() {
    return Stream.of(
        Arguments.of(State.NOT_AUTHENTICATED, false, false, "IMAP4rev1 IMAP4rev2 STARTTLS AUTH=PLAIN " + REST),
        Arguments.of(State.NOT_AUTHENTICATED, false, true, "IMAP4rev1 IMAP4rev2 STARTTLS LOGINDISABLED " + REST),
        Arguments.of(State.NOT_AUTHENTICATED, true, false, "IMAP4rev1 IMAP4rev2 AUTH=PLAIN " + REST),
        Arguments.of(State.AUTHENTICATED, false, false, "IMAP4rev1 IMAP4rev2 " + REST),
        Arguments.of(State.AUTHENTICATED, true, false, "IMAP4rev1 IMAP4rev2 " + REST),
        Arguments.of(State.SELECTED, false, true, "IMAP4rev1 IMAP4rev2 " + REST));
  }

  @ParameterizedTest
  @MethodSource("states")
  void capabilitiesInEachState(State state, boolean tls, boolean loginDisabled, String expected) {
    assertThat(Verb.capabilities(state, tls, loginDisabled, 52428800)).isEqualTo(expected);
  }
}
