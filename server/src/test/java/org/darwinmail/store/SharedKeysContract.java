package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.darwinmail.testing.AtOnce;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the nodes' shared DKIM keys and certificate rely on from {@link SharedKeys} and its tables ({@code dkim_keys},
 * {@code tls_certificate}, V018, one portable script for both engines): a key per domain and selector claimed once,
 * the first claim winning even when two nodes claim at the same instant; one certificate, the last stored. Run on each
 * engine by a subclass (the server writes them on PostgreSQL only; `store migrate` copies them either way).
 */
abstract class SharedKeysContract {
  private Engine engine;
  private SqlRunner node;

  abstract Engine engine();

  @BeforeEach
  void open() {
    engine = engine();
    node = engine.node();
  }

  @AfterEach
  void close() throws Exception {
    engine.close();
  }

  private static SharedKeys.DkimKey key(String tag) {
    return new SharedKeys.DkimKey("-----BEGIN PRIVATE KEY-----\n" + tag + "\n-----END PRIVATE KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\n" + tag + "\n-----END PUBLIC KEY-----\n");
  }

  @Test
  void theFirstClaimOfAKeyWinsAndEveryNodeReadsIt() {
    SharedKeys one = new SharedKeys(node);
    SharedKeys two = new SharedKeys(engine.node());
    assertThat(one.dkimKey("a.test", "darwin")).isNull();
    assertThat(one.claimDkimKey("a.test", "darwin", key("first"))).isEqualTo(key("first"));
    assertThat(two.claimDkimKey("a.test", "darwin", key("second"))).isEqualTo(key("first"));
    assertThat(two.dkimKey("a.test", "darwin")).isEqualTo(key("first"));
    assertThat(two.claimDkimKey("a.test", "darwin-ed", key("ed"))).isEqualTo(key("ed")); // per selector
    assertThat(two.dkimKey("b.test", "darwin")).isNull(); // per domain
    assertThat(key("x").toString()).doesNotContain("PRIVATE");
  }

  @Test
  void twoNodesClaimingAtOnceGetTheSameKey() throws Exception {
    SharedKeys one = new SharedKeys(node);
    SharedKeys two = new SharedKeys(engine.node());
    for (int i = 0; i < 10; i++) {
      String domain = "race" + i + ".test";
      List<SharedKeys.DkimKey> got = new ArrayList<>(AtOnce.run(List.of(one, two),
          k -> k.claimDkimKey(domain, "darwin", key(k == one ? "one" : "two"))));
      assertThat(got.get(0)).as(domain).isEqualTo(got.get(1)).isEqualTo(one.dkimKey(domain, "darwin"));
    }
  }

  @Test
  void theCertificateIsTheLastOneStored() {
    SharedKeys one = new SharedKeys(node);
    SharedKeys two = new SharedKeys(engine.node());
    assertThat(one.certificate()).isNull();
    one.storeCertificate("chain 1", "key 1");
    assertThat(two.certificate().chainPem()).isEqualTo("chain 1");
    two.storeCertificate("chain 2", "key 2");
    SharedKeys.Certificate c = one.certificate();
    assertThat(c.chainPem()).isEqualTo("chain 2");
    assertThat(c.keyPem()).isEqualTo("key 2");
    assertThat(c.installedAt()).isNotNull();
    assertThat(c.toString()).doesNotContain("key 2");
  }
}
