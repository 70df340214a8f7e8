package org.darwinmail.guard;

/**
 * The abuse guard's parts that live for the whole server (ARCHITECTURE.md, "The abuse guard and login throttling"):
 * outbound limits and burst blocking, directory-harvest slowing, per-address connection limits, SPF/DKIM/DMARC/DNSBL
 * checks on port 25. Failed-login throttling is {@link LoginGuard}.
 */
public record Guard(SendGuard sends, HarvestGuard harvest, ConnectionLimits connections, InboundAuth inbound) {}
