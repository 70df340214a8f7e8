package org.darwinmail.store;

/** A mail account; {@code address} is normalised (see {@link Addresses}); quotaBytes 0 means unlimited. */
public record Account(long id, String address, String passwordHash, long quotaBytes) {}
