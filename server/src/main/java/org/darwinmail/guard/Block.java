package org.darwinmail.guard;

import java.time.Instant;

/** A persisted sending block: the account, when, why, and the figures that triggered it. */
public record Block(String account, Instant since, String reason, int messages, int recipients, int windowSeconds) {}
