package org.darwinmail.admin.dns;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.dns.Dns;
import org.darwinmail.testing.TestDns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;

/** The records to publish and their live status against a DNS server on loopback: ok, missing, wrong, can't tell. */
class DnsRecordsTest {
  private final TestDns testDns = new TestDns();
  private final Dns dns = new Dns(new DnsConfig(List.of(testDns.address()), 1));
  private static final String DKIM = "v=DKIM1; k=rsa; p=" + "A".repeat(300);

  @AfterEach
  void stop() {
    testDns.close();
  }

  private List<DnsRecords.Expected> expected() {
    return DnsRecords.expected("example.test", "mail.example.test", "192.0.2.10",
        List.<String[]>of(new String[] {"darwin", DKIM}));
  }

  private DnsRecords.Seen status(String name, String type) {
    return DnsRecords.check(dns, expected()).stream()
        .filter(s -> s.record().name().equals(name) && s.record().type().equals(type)).findFirst().orElseThrow();
  }

  @Test
  void theListNamesEveryRecord() {
    assertThat(expected()).extracting(e -> e.type() + " " + e.name()).containsExactly(
        "MX example.test", "A mail.example.test", "TXT example.test", "TXT darwin._domainkey.example.test",
        "TXT _dmarc.example.test", "CNAME autoconfig.example.test", "CNAME autodiscover.example.test");
  }

  @Test
  void publishedRecordsAreOk() throws Exception {
    testDns.mx("example.test", 10, "mail.example.test").a("mail.example.test", "192.0.2.10")
        .txt("example.test", "v=spf1 mx ~all").txt("example.test", "google-site-verification=x")
        .txt("darwin._domainkey.example.test", DKIM)
        .txt("_dmarc.example.test", "v=DMARC1; p=none")
        .add(new CNAMERecord(Name.fromString("autoconfig.example.test."), DClass.IN, 60,
            Name.fromString("mail.example.test.")))
        .a("autodiscover.example.test", "192.0.2.10");
    assertThat(DnsRecords.check(dns, expected())).extracting(s -> s.status())
        .containsOnly(DnsRecords.Status.OK);
  }

  @Test
  void missingWrongAndCantTell() {
    testDns.mx("example.test", 10, "mx.elsewhere.test").txt("example.test", "v=spf1 -all")
        .txt("darwin._domainkey.example.test", "v=DKIM1; k=rsa; p=OTHERKEY").servfail("_dmarc.example.test");
    DnsRecords.Seen mx = status("example.test", "MX");
    assertThat(mx.status()).isEqualTo(DnsRecords.Status.WRONG);
    assertThat(mx.seen()).containsExactly("10 mx.elsewhere.test.");
    assertThat(mx.message()).contains("Expected 10 mail.example.test.").contains("seen 10 mx.elsewhere.test.");
    assertThat(status("example.test", "TXT").status()).as("SPF that lets nobody send").isEqualTo(DnsRecords.Status.WRONG);
    assertThat(status("darwin._domainkey.example.test", "TXT").status()).isEqualTo(DnsRecords.Status.WRONG);
    assertThat(status("mail.example.test", "A").status()).isEqualTo(DnsRecords.Status.MISSING);
    assertThat(status("_dmarc.example.test", "TXT").status()).isEqualTo(DnsRecords.Status.UNKNOWN);
    assertThat(status("_dmarc.example.test", "TXT").message()).startsWith("Can't tell");
  }

  @Test
  void theZoneFileSplitsLongTextIntoStrings() {
    String zone = DnsRecords.zoneFile(expected());
    assertThat(zone).contains("example.test. 3600 IN MX 10 mail.example.test.\n")
        .contains("example.test. 3600 IN TXT \"v=spf1 mx -all\"\n")
        .contains("darwin._domainkey.example.test. 3600 IN TXT ( \"v=DKIM1; k=rsa; p=" + "A".repeat(255 - "v=DKIM1; k=rsa; p=".length()) + "\" \"")
        .contains("autoconfig.example.test. 3600 IN CNAME mail.example.test.\n");
  }

  @Test
  void srvRecordsOfTheClientListenersMatchOnPortAndTarget() throws Exception {
    List<DnsRecords.Expected> withSrv = DnsRecords.expected("example.test", "mail.example.test", null, List.of(),
        java.util.Map.of("imaps", 993, "submission", 587, "pop3", 110));
    // RFC 8314 §5.1 / RFC 6186 §3: in DnsRecords.CLIENT_SERVICES' order, only the services given
    assertThat(withSrv).filteredOn(e -> e.type().equals("SRV")).extracting(e -> e.name() + " " + e.value())
        .containsExactly("_submission._tcp.example.test 0 1 587 mail.example.test.",
            "_imaps._tcp.example.test 0 1 993 mail.example.test.", "_pop3._tcp.example.test 0 1 110 mail.example.test.");
    testDns.add(new org.xbill.DNS.SRVRecord(Name.fromString("_imaps._tcp.example.test."), DClass.IN, 60, 5, 10, 993,
        Name.fromString("MAIL.example.test.")))
        .add(new org.xbill.DNS.SRVRecord(Name.fromString("_submission._tcp.example.test."), DClass.IN, 60, 0, 1, 25,
            Name.fromString("mail.example.test.")));
    java.util.Map<String, DnsRecords.Seen> seen = new java.util.HashMap<>();
    DnsRecords.check(dns, withSrv).forEach(x -> seen.put(x.record().name(), x));
    assertThat(seen.get("_imaps._tcp.example.test").status()).as("priority and weight are the publisher's")
        .isEqualTo(DnsRecords.Status.OK);
    assertThat(seen.get("_submission._tcp.example.test").status()).isEqualTo(DnsRecords.Status.WRONG);
    assertThat(seen.get("_submission._tcp.example.test").seen()).containsExactly("0 1 25 mail.example.test.");
    assertThat(seen.get("_pop3._tcp.example.test").status()).isEqualTo(DnsRecords.Status.MISSING);
    assertThat(DnsRecords.zoneFile(withSrv)).contains("_imaps._tcp.example.test. 3600 IN SRV 0 1 993 mail.example.test.\n");
  }

  @Test
  void mtaStsAndTlsRptRecordsAreListedAndCheckedWhenPublished() throws Exception {
    MtaStsPolicy policy = new MtaStsPolicy("enforce", "mail.example.test", 604800);
    List<DnsRecords.Expected> with = DnsRecords.expected("example.test", "mail.example.test", null, List.of(),
        java.util.Map.of(), policy);
    assertThat(with).extracting(e -> e.type() + " " + e.name() + " " + e.value()).contains(
        "TXT _mta-sts.example.test v=STSv1; id=" + policy.id(),
        "CNAME mta-sts.example.test mail.example.test.",
        "TXT _smtp._tls.example.test v=TLSRPTv1; rua=mailto:postmaster@example.test");
    assertThat(DnsRecords.expected("example.test", "mail.example.test", null, List.of(), java.util.Map.of(), null))
        .as("MTA-STS off: none of its records").extracting(DnsRecords.Expected::name)
        .doesNotContain("_mta-sts.example.test", "mta-sts.example.test", "_smtp._tls.example.test");
    assertThat(DnsRecords.zoneFile(with))
        .contains("_mta-sts.example.test. 3600 IN TXT \"v=STSv1; id=" + policy.id() + "\"\n")
        .contains("mta-sts.example.test. 3600 IN CNAME mail.example.test.\n")
        .contains("_smtp._tls.example.test. 3600 IN TXT \"v=TLSRPTv1; rua=mailto:postmaster@example.test\"\n");

    java.util.function.Function<String, DnsRecords.Seen> seen = name -> DnsRecords.check(dns, with).stream()
        .filter(x -> x.record().name().equals(name)).findFirst().orElseThrow();
    assertThat(seen.apply("_mta-sts.example.test").status()).isEqualTo(DnsRecords.Status.MISSING);
    assertThat(seen.apply("mta-sts.example.test").status()).isEqualTo(DnsRecords.Status.MISSING);
    assertThat(seen.apply("_smtp._tls.example.test").status()).isEqualTo(DnsRecords.Status.MISSING);

    // an old id: senders keep the policy they cached, so it is wrong, not ok
    testDns.txt("_mta-sts.example.test", "v=STSv1; id=20190101").txt("_smtp._tls.example.test", "v=spf1 -all")
        .add(new CNAMERecord(Name.fromString("mta-sts.example.test."), DClass.IN, 60,
            Name.fromString("web.elsewhere.test.")));
    assertThat(seen.apply("_mta-sts.example.test").status()).isEqualTo(DnsRecords.Status.WRONG);
    assertThat(seen.apply("_mta-sts.example.test").seen()).containsExactly("v=STSv1; id=20190101");
    assertThat(seen.apply("mta-sts.example.test").status()).isEqualTo(DnsRecords.Status.WRONG);
    assertThat(seen.apply("_smtp._tls.example.test").status()).as("only v=TLSRPTv1 strings count")
        .isEqualTo(DnsRecords.Status.MISSING);

    testDns.clear("_mta-sts.example.test");
    testDns.clear("mta-sts.example.test");
    testDns.txt("_mta-sts.example.test", "v=STSv1;id=" + policy.id() + ";")
        .txt("_smtp._tls.example.test", "v=TLSRPTv1; rua=mailto:tls-reports@report.example.test")
        .add(new CNAMERecord(Name.fromString("mta-sts.example.test."), DClass.IN, 60,
            Name.fromString("mail.example.test.")));
    assertThat(seen.apply("_mta-sts.example.test").status()).isEqualTo(DnsRecords.Status.OK);
    assertThat(seen.apply("mta-sts.example.test").status()).isEqualTo(DnsRecords.Status.OK);
    assertThat(seen.apply("_smtp._tls.example.test").status()).as("another report address is the publisher's choice")
        .isEqualTo(DnsRecords.Status.OK);

    testDns.servfail("_smtp._tls.example.test");
    assertThat(seen.apply("_smtp._tls.example.test").status()).isEqualTo(DnsRecords.Status.UNKNOWN);
  }

  @Test
  void thePolicyIdFollowsItsText() {
    MtaStsPolicy p = new MtaStsPolicy("testing", "Mail.Example.Test.", 86400);
    assertThat(p.text()).isEqualTo("version: STSv1\r\nmode: testing\r\nmx: mail.example.test\r\nmax_age: 86400\r\n");
    assertThat(p.id()).matches("[0-9a-f]{20}").isEqualTo(new MtaStsPolicy("testing", "mail.example.test", 86400).id());
    assertThat(new MtaStsPolicy("enforce", "mail.example.test", 86400).id()).isNotEqualTo(p.id());
    assertThat(new MtaStsPolicy("testing", "mail.example.test", 86401).id()).isNotEqualTo(p.id());
    assertThat(new MtaStsPolicy("testing", "mx.example.test", 86400).id()).isNotEqualTo(p.id());
  }
}
