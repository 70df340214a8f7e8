# Benchmarks beside Postfix and Dovecot (bench/README.md). Never part of `make test`.
#   make bench          all of them, one after the other (exit 1 if any failed)
#   make bench-smtp     inbound SMTP, smtp-source at concurrency 1/10/50, Darwin vs Postfix (Maildir)
#   make bench-imap     IMAP client mix, 10 and 50 clients, Darwin vs Dovecot
#   make bench-pop3     retrieve and delete 1,000 x 10 KB, Darwin vs Dovecot
#   make bench-relay    submission -> remote delivery into smtp-sink, Darwin vs Postfix
#   make bench-idle     memory of up to 10,000 IMAP connections in IDLE, Darwin and Dovecot
#   make bench-cluster  SMTP ingest and the IMAP mix on PostgreSQL + S3 (S3Proxy) with 1, 2, 3 nodes and on Derby,
#                       per-message CPU (Darwin only; not in `make bench`)
#   make bench-start    start to greeting / first FETCH, CLI latency, first 1,000 vs warmed SMTP rate (and with
#                       BENCH_ARGS="--imap-seconds 60" the first minute of IMAP vs warmed), with and
#                       without the AOT cache, on the JDK and on the jlink runtime (Darwin only; not in `make bench`)
# BENCH_ONLY=peer measures only Postfix/Dovecot (no `make dist`); BENCH_ONLY=darwin only Darwin Mail.
# BENCH_ARGS="..." passes options to the bench script (see bench/py/bench_*.py --help).

BENCH_DIST_DEP := $(if $(filter peer,$(BENCH_ONLY)),,dist)
BENCH_LOADGEN := bench/loadgen/target/darwin-bench-loadgen.jar
BENCH_RUN = BENCH_ONLY=$(BENCH_ONLY) $(PY) bench/py/bench_$(1).py --dist $(DIST) $(BENCH_ARGS)

.PHONY: bench bench-deps bench-loadgen bench-smtp bench-imap bench-pop3 bench-relay bench-idle bench-start bench-cluster

bench-deps:
	@tools/apt-ensure postfix dovecot-imapd dovecot-pop3d dovecot-lmtpd dnsmasq-base openssl

$(BENCH_LOADGEN): bench/loadgen/pom.xml $(wildcard bench/loadgen/src/main/java/darwinbench/*.java)
	@test -n "$(JAVA_HOME)" || { echo "bench: no JDK 21+ found (set JAVA_HOME)" >&2; exit 1; }
	mvn -B -q -f bench/loadgen/pom.xml -DskipTests package

bench-loadgen: $(BENCH_LOADGEN)

bench-smtp: bench-deps $(BENCH_DIST_DEP)
	$(call BENCH_RUN,smtp)

bench-imap: bench-deps bench-loadgen $(BENCH_DIST_DEP)
	$(call BENCH_RUN,imap)

bench-pop3: bench-deps bench-loadgen $(BENCH_DIST_DEP)
	$(call BENCH_RUN,pop3)

bench-relay: bench-deps bench-loadgen $(BENCH_DIST_DEP)
	$(call BENCH_RUN,relay)

bench-idle: bench-deps bench-loadgen $(BENCH_DIST_DEP)
	$(call BENCH_RUN,idle)

# PostgreSQL 15 (Debian's) and S3Proxy (the jar the server's tests use, copied at generate-test-resources).
bench-cluster: bench-deps bench-loadgen dist
	@tools/apt-ensure postgresql
	$(MVN) generate-test-resources
	$(PY) bench/py/bench_cluster.py --dist $(DIST) $(BENCH_ARGS)

# The jlink runtime of appliance/appliance.mk ($(A_RUNTIME)), built from the dist tree.
bench-start: bench-deps bench-loadgen dist appliance-runtime
	$(PY) bench/py/bench_start.py --dist $(DIST) --runtime $(A_RUNTIME) $(BENCH_ARGS)

bench: bench-deps bench-loadgen $(BENCH_DIST_DEP)
	@rc=0; for b in smtp imap pop3 relay idle; do \
	  BENCH_ONLY=$(BENCH_ONLY) $(PY) bench/py/bench_$$b.py --dist $(DIST) || { rc=1; echo "bench-$$b: FAILED or incomplete (see above)"; }; \
	done; \
	echo "results: bench/results/LATEST-*.txt"; exit $$rc
