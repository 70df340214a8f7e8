package org.darwinmail.store;

/** A durable blob: its SHA-256 (lower-case hex) and its size in bytes. */
public record BlobRef(String hash, long size) {}
