package org.darwinmail.s3;

import java.io.IOException;

/** An S3 request the server answered with an error: its HTTP status and S3 error code ("NoSuchBucket", "BadDigest"). */
public final class S3Exception extends IOException {
  private final int status;
  private final String code;

  S3Exception(String what, int status, String code) {
    super(what + ": HTTP " + status + (code.isEmpty() ? "" : " " + code));
    this.status = status;
    this.code = code;
  }

  public int status() {
    return status;
  }

  public String code() {
    return code;
  }
}
