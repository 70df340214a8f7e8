package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What outbound MTA-STS relies on from a {@link MtaStsRepository}, run on each engine by a subclass: a saved policy
 * is read back as saved (mx patterns in order), a new fetch replaces it, another node sees it, and counts made at
 * once on two nodes all add up.
 */
abstract class MtaStsRepositoryContract {
  private Engine engine;
  private MtaStsRepository r;
  private MtaStsRepository other;

  abstract Engine engine();

  @BeforeEach
  void open() {
    engine = engine();
    r = new SqlMtaStsRepository(engine.node());
    other = new SqlMtaStsRepository(engine.node());
  }

  @AfterEach
  void close() throws Exception {
    engine.close();
  }

  @Test
  void aPolicyIsKeptReplacedAndDeleted() {
    Instant t = Instant.parse("2026-12-04T10:00:00Z");
    assertThat(r.policy("remote.test")).isEmpty();
    var first = new MtaStsRepository.Stored("remote.test", "1", "enforce", List.of("mx.remote.test", "*.b.test"),
        86400, t, t.plusSeconds(86400));
    r.save(first);
    assertThat(other.policy("remote.test")).contains(first);
    var second = new MtaStsRepository.Stored("remote.test", "2", "none", List.of(), 60, t.plusSeconds(5),
        t.plusSeconds(65));
    other.save(second);
    assertThat(r.policy("remote.test")).contains(second);
    assertThat(r.policies()).containsExactly(second);
    r.delete("remote.test");
    assertThat(other.policies()).isEmpty();
  }

  @Test
  void countsOnTwoNodesAtOnceAddUp() throws Exception {
    LocalDate day = LocalDate.parse("2026-12-04");
    List<CompletableFuture<Void>> runs = new ArrayList<>();
    for (MtaStsRepository node : List.of(r, other)) {
      runs.add(CompletableFuture.runAsync(() -> {
        for (int i = 0; i < 50; i++) {
          node.count(day, "remote.test", i % 2 == 0 ? "success" : "starttls-not-supported", 1);
        }
      }));
    }
    for (var f : runs) {
      f.get();
    }
    r.count(day.minusDays(1), "remote.test", "success", 7);
    assertThat(other.counts(day)).containsExactly(
        new MtaStsRepository.Count(day, "remote.test", "starttls-not-supported", 50),
        new MtaStsRepository.Count(day, "remote.test", "success", 50));
    assertThat(r.counts(day.minusDays(1))).hasSize(3);
  }

  /** Failure details add up per MX host and address, most sessions first. */
  @Test
  void failureDetailsAddUpPerMxHostAndAddress() {
    LocalDate day = LocalDate.parse("2026-12-04");
    r.countDetail(day, "remote.test", "certificate-expired", "mx1.remote.test", "192.0.2.1", 1);
    other.countDetail(day, "remote.test", "certificate-expired", "mx1.remote.test", "192.0.2.1", 2);
    r.countDetail(day, "remote.test", "sts-policy-fetch-error", "", "", 1);
    r.countDetail(day.plusDays(1), "remote.test", "sts-policy-fetch-error", "", "", 1);
    assertThat(r.details(day, "remote.test", 100)).containsExactly(
        new MtaStsRepository.Detail(day, "remote.test", "certificate-expired", "mx1.remote.test", "192.0.2.1", 3),
        new MtaStsRepository.Detail(day, "remote.test", "sts-policy-fetch-error", "", "", 1));
    assertThat(r.details(day, "remote.test", 1)).hasSize(1);
  }

  /** Two nodes claiming the same day's report at once: exactly one gets it; its result is read back. */
  @Test
  void aReportIsClaimedByOneNodeOnly() throws Exception {
    LocalDate day = LocalDate.parse("2026-12-04");
    Instant t = Instant.parse("2026-12-05T00:05:00Z");
    List<CompletableFuture<Boolean>> claims = new ArrayList<>();
    for (MtaStsRepository node : List.of(r, other, r, other)) {
      claims.add(CompletableFuture.supplyAsync(() -> node.claimReport(day, "remote.test", "id1", t, "node")));
    }
    assertThat(claims.stream().map(CompletableFuture::join).filter(b -> b).count()).isEqualTo(1);
    assertThat(other.claimReport(day, "remote.test", "id2", t, "node2")).isFalse();
    assertThat(other.claimReport(day, "other.test", "id3", t, "node2")).isTrue();
    r.reportDone(day, "remote.test", "mailto:tlsrpt@remote.test", "queued");
    assertThat(other.reports(day)).containsExactly(
        new MtaStsRepository.Report(day, "other.test", "id3", t, "node2", "", ""),
        new MtaStsRepository.Report(day, "remote.test", "id1", t, "node", "mailto:tlsrpt@remote.test", "queued"));
    assertThat(other.reports(day.plusDays(1))).isEmpty();
  }
}
