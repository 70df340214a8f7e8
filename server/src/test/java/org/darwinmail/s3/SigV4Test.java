package org.darwinmail.s3;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Signature V4 against the worked example of the S3 API reference ("Example: GET Object", header-based auth). */
class SigV4Test {
  @Test
  void theReferenceGetObjectExampleSignsAsDocumented() {
    Credentials c = new Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Host", "examplebucket.s3.amazonaws.com");
    h.put("Range", "bytes=0-9");
    h.put("x-amz-content-sha256", SigV4.EMPTY_SHA256);
    h.put("x-amz-date", "20130524T000000Z");
    String auth = SigV4.authorization(c, "us-east-1", "GET", "/test.txt", "", h, SigV4.EMPTY_SHA256,
        ZonedDateTime.of(2013, 5, 24, 0, 0, 0, 0, ZoneOffset.UTC));
    assertThat(auth).isEqualTo("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        + " SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        + " Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  }

  @Test
  void queriesAreSortedAndEncodedAsSigV4Wants() {
    assertThat(SigV4.query(Map.of("prefix", "a/b c", "list-type", "2", "continuation-token", "x+y=")))
        .isEqualTo("continuation-token=x%2By%3D&list-type=2&prefix=a%2Fb%20c");
    assertThat(SigV4.encode("bucket/key~-_.", false)).isEqualTo("bucket/key~-_.");
    assertThat(SigV4.encode("é", false)).isEqualTo("%C3%A9");
  }
}
