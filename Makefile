# Darwin Mail: the one entry point (ARCHITECTURE.md, "Purpose and repository layout" and "Tests and benchmarks").
#   make run     build and start a server on loopback ports with data in ./var
#   make check   unit and protocol tests (JVM only, < 5 min)
#   make test    everything: check, end-to-end with real clients, the browser tests, the appliance
#   make dist    dist/darwinmail/ (launcher, lib/, example config); make dist-aot adds the AOT caches (1-3 min)
#   make bench   benchmarks beside Postfix and Dovecot (never part of test)
SHELL := /bin/bash
.DEFAULT_GOAL := help

# A JDK 21+: JAVA_HOME when it is one, else the newest JDK in /usr/lib/jvm.
JAVA_HOME := $(shell tools/find-jdk)
export JAVA_HOME
MVN := mvn -B -q -f server/pom.xml
PY := /usr/bin/python3
DIST := dist/darwinmail

.PHONY: help deps deps-test build dist dist-aot run check test test-slow fuzz e2e browser-test clean bench

help:
	@sed -n '2,7p' Makefile

jdk-check:
	@test -n "$(JAVA_HOME)" || { echo "No JDK 21+ found: install one (apt-get install openjdk-21-jdk-headless) or set JAVA_HOME" >&2; exit 1; }

# Debian packages needed to build and run (installed only when missing, as root).
deps: jdk-check
	@tools/apt-ensure maven

# Packages the end-to-end tests need: real clients nobody here wrote.
deps-test: deps
	@tools/apt-ensure python3-pytest swaks curl fetchmail python3-dkim postfix dnsmasq python3-dnspython openssl

build: jdk-check deps
	$(MVN) -DskipTests package

dist: build
	tools/make-dist server/target $(DIST)

# The AOT caches for this JDK (the server's, lib/darwinmail.aot, and the commands', lib/darwinmail-cli.aot), trained
# by a representative workload (tools/aot-train; ARCHITECTURE.md, "The launcher and the JVM"). Not part of `dist`:
# the tests start servers with and without them on purpose.
dist-aot: dist
	tools/aot-train $(DIST) $(DIST)/lib/darwinmail.aot

# swaks sends the README's first message; without root, say it is missing and run anyway. `make run AOT=1` trains
# the AOT caches first (a new dist replaces them: they are only valid for the jars they were trained with).
run: $(if $(AOT),dist-aot,dist)
	-@tools/apt-ensure swaks
	tools/dev-run $(DIST)

# PostgreSQL 15 (Debian's; never started as a service): the store's contract tests start their own cluster.
check: jdk-check deps
	@tools/apt-ensure postgresql-15 pebble
	$(MVN) test

# Tests too slow for `make check` (the SIGKILL crash-consistency test starts ten server processes).
test-slow: jdk-check deps
	$(MVN) test -Ddarwin.test.groups=slow -Ddarwin.test.excluded=none -Ddarwin.test.forks=2

# Jazzer fuzzing (issue 6): `make check` replays the saved inputs; this searches for new ones, each target for up to
# its @FuzzTest maxDuration (60 s). Findings are saved under server/src/test/resources/<package>/<Class>Inputs/.
FUZZ_TARGETS := smtp.SmtpParserFuzzTest:commandParser smtp.SmtpParserFuzzTest:mailPath smtp.SmtpParserFuzzTest:framer \
  imap.ImapParserFuzzTest:commandParser imap.ImapParserFuzzTest:framer pop3.Pop3ParserFuzzTest:commandParser \
  mime.MimeStructureFuzzTest:structure imap.ListPatternFuzzTest:pattern urlauth.ImapUrlFuzzTest:url
fuzz: jdk-check deps
	@failed=""; for t in $(FUZZ_TARGETS); do echo "== fuzzing $$t"; \
	  JAZZER_FUZZ=1 $(MVN) test -Dtest="org.darwinmail.$${t/:/#}" -Dsurefire.failIfNoSpecifiedTests=false -Ddarwin.jazzer.hooks=true \
	  || failed="$$failed $$t"; done; \
	  if [ -n "$$failed" ]; then echo "fuzz findings in:$$failed" >&2; exit 1; fi

e2e: dist deps-test
	cd tests/e2e && DARWINMAIL_DIST=$(CURDIR)/$(DIST) $(PY) -m pytest -q -p no:cacheprovider .

# The first-run wizard and the console in a real Chromium (Debian's package, never a downloaded browser), driven
# by Playwright for Node at the version pinned in tests/browser/package-lock.json. Screenshots: tests/browser/artifacts/.
browser-test: dist
	@tools/apt-ensure chromium
	@command -v npm >/dev/null || { echo "npm is missing: the browser tests need Node.js 20+ and npm" >&2; exit 1; }
	cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error \
	  && DARWINMAIL_DIST=$(CURDIR)/$(DIST) CHROMIUM=/usr/bin/chromium npx playwright test

test: check test-slow e2e browser-test appliance-test
	@echo "make test: all stages passed"

clean:
	rm -rf server/target dist

-include appliance/appliance.mk
-include bench/bench.mk
