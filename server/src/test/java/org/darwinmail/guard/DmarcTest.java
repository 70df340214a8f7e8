package org.darwinmail.guard;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.darwinmail.dns.Dns;
import org.junit.jupiter.api.Test;

/** DMARC evaluation (RFC 7489) and the organisational domain from the Public Suffix List, without a network. */
class DmarcTest {
  final PublicSuffixList psl = PublicSuffixList.get();

  @Test
  void organisationalDomainsFollowThePublicSuffixList() {
    assertThat(psl.organisationalDomain("mail.example.com")).isEqualTo("example.com");
    assertThat(psl.organisationalDomain("a.b.example.co.uk")).isEqualTo("example.co.uk");
    assertThat(psl.organisationalDomain("example.com")).isEqualTo("example.com");
    assertThat(psl.organisationalDomain("co.uk")).isEqualTo("co.uk");
    // Wildcard and exception rules (*.ck, !www.ck).
    assertThat(psl.organisationalDomain("a.b.foo.ck")).isEqualTo("b.foo.ck");
    assertThat(psl.organisationalDomain("mail.www.ck")).isEqualTo("www.ck");
    // Private section: each user of a hosting suffix is its own organisation.
    assertThat(psl.organisationalDomain("alice.github.io")).isEqualTo("alice.github.io");
    // An unlisted TLD: the default rule "*".
    assertThat(psl.organisationalDomain("mx.orgpolicy.example")).isEqualTo("orgpolicy.example");
  }

  @Test
  void recordsAreParsedStrictly() {
    assertThat(Dmarc.Record.parse("v=DMARC1; p=reject; sp=none; adkim=s; pct=50"))
        .isEqualTo(new Dmarc.Record(Dmarc.Policy.REJECT, Dmarc.Policy.NONE, true, false, 50));
    assertThat(Dmarc.Record.parse("p=reject; v=DMARC1")).as("v must come first").isNull();
    assertThat(Dmarc.Record.parse("v=DMARC1; p=bogus")).as("bad p, no rua").isNull();
    assertThat(Dmarc.Record.parse("v=DMARC1; p=bogus; rua=mailto:a@b.example").p()).isEqualTo(Dmarc.Policy.NONE);
    assertThat(Dmarc.Record.parse("v=DMARC1; p=quarantine").sp()).isEqualTo(Dmarc.Policy.QUARANTINE);
  }

  private Dmarc dmarc(Map<String, Dns.Answer<String>> zone) {
    return new Dmarc(n -> zone.getOrDefault(n, new Dns.Answer.NoSuchDomain<>()), psl);
  }

  @Test
  void alignmentPolicyAndDiscovery() {
    Dmarc d = dmarc(Map.of(
        "_dmarc.example.com", new Dns.Answer.Found<>(List.of("v=DMARC1; p=reject; sp=quarantine")),
        "_dmarc.strict.example.net", new Dns.Answer.Found<>(List.of("v=DMARC1; p=reject; aspf=s")),
        "_dmarc.two.example.org", new Dns.Answer.Found<>(List.of("v=DMARC1; p=reject", "v=DMARC1; p=none")),
        "_dmarc.flaky.example", new Dns.Answer.Temporary<>("SERVFAIL")));
    // Relaxed SPF alignment: a subdomain of the same organisation passes.
    assertThat(d.evaluate("example.com", true, "bounces.example.com", List.of()).result()).isEqualTo("pass");
    // Unaligned SPF pass and no DKIM: fail with the published policy.
    Dmarc.Verdict v = d.evaluate("example.com", true, "mailer.example.net", List.of());
    assertThat(v.result()).isEqualTo("fail");
    assertThat(v.disposition()).isEqualTo(Dmarc.Policy.REJECT);
    // An aligned DKIM pass saves it.
    assertThat(d.evaluate("example.com", false, null, List.of("example.com")).result()).isEqualTo("pass");
    // A subdomain without its own record: the organisational domain's sp applies.
    assertThat(d.evaluate("news.example.com", false, null, List.of()).disposition())
        .isEqualTo(Dmarc.Policy.QUARANTINE);
    // Strict SPF alignment: a subdomain is not enough.
    assertThat(d.evaluate("strict.example.net", true, "b.strict.example.net", List.of()).result()).isEqualTo("fail");
    // No record; two records (no policy); a temporary DNS failure.
    assertThat(d.evaluate("nodmarc.example", false, null, List.of()).result()).isEqualTo("none");
    assertThat(d.evaluate("two.example.org", false, null, List.of()).result()).isEqualTo("none");
    assertThat(d.evaluate("flaky.example", false, null, List.of()).result()).isEqualTo("temperror");
    // No usable From: domain.
    assertThat(d.evaluate(null, true, "x.example", List.of()).result()).isEqualTo("permerror");
  }

  @Test
  void theFromDomainIsTakenFromASingleFromField() {
    assertThat(InboundAuth.fromDomain(List.of("From: \"Bob (the boss)\" <bob@Example.COM>"))).isEqualTo("example.com");
    assertThat(InboundAuth.fromDomain(List.of("From: bob@example.com (Bob)"))).isEqualTo("example.com");
    assertThat(InboundAuth.fromDomain(List.of("From: a@x.example", "From: b@y.example"))).isNull();
    assertThat(InboundAuth.fromDomain(List.of("From: a@x.example, b@y.example"))).isNull();
    assertThat(InboundAuth.fromDomain(List.of("Subject: none"))).isNull();
  }
}
