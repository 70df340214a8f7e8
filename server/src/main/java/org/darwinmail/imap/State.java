package org.darwinmail.imap;

/** The states of an IMAP connection (RFC 3501 §3, RFC 9051 §3). */
enum State { NOT_AUTHENTICATED, AUTHENTICATED, SELECTED, LOGOUT }
