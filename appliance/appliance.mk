# The Darwin Mail appliance (issue 7; ARCHITECTURE.md, "The appliance build path"). Included by the top
# Makefile. Build outputs go to $(APPLIANCE_BUILD) (not in git); the Debian
# base root filesystem is cached in $(APPLIANCE_CACHE) across runs.
#
#   make image            the system disk, provisioned by Ansible under QEMU (packer qemu)
#   make ova              the OVA: image + blank data disk + OVF descriptor + manifest
#   make ova-vmware       the production build: EL 9 + kickstart under VMware (packer vmware-iso)
#   make appliance-lint   ansible-lint, ansible-playbook --syntax-check, packer validate, nft -c of the firewall,
#                         bash -n of the first-boot scripts as rendered
#   make appliance-test   lint, build, boot the OVA under QEMU (TCG), Testinfra, mail, disk swap

APPLIANCE_BUILD   ?= build/appliance
APPLIANCE_CACHE   ?= /var/cache/darwinmail-build
APPLIANCE_BASE    ?= debian12
# Evaluated once: commits landing during a long build must not change the name. The release is server/pom.xml's
# version (its first <version> element, the project's), the one source of the version; +g<commit> names the build.
ifndef APPLIANCE_VERSION
APPLIANCE_VERSION := $(shell sed -n "0,/<version>/s:.*<version>\(.*\)</version>.*:\1:p" server/pom.xml)+g$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
endif
APPLIANCE_COMMIT  := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
APPLIANCE_TIMINGS ?= $(CURDIR)/$(APPLIANCE_BUILD)/timings.log
export APPLIANCE_TIMINGS

AB          := $(APPLIANCE_BUILD)
A_KEY       := $(AB)/ssh/id_ed25519
A_BASE      := $(AB)/base.qcow2
A_RUNTIME   := $(AB)/runtime
A_BUNDLE    := $(AB)/darwinmail-bundle.tar.gz
A_IMAGE_DIR := $(AB)/image
A_IMAGE     := $(A_IMAGE_DIR)/darwinmail-system.qcow2
A_OVA       := $(AB)/darwinmail-$(APPLIANCE_VERSION).ova
A_TIMED     := appliance/scripts/timed
A_PACKER_VARS = -var version=$(APPLIANCE_VERSION) -var git_commit=$(APPLIANCE_COMMIT) \
	-var darwinmail_bundle=$(A_BUNDLE) -var ssh_private_key_file=$(A_KEY)

.PHONY: appliance-deps appliance-base appliance-runtime appliance-bundle image ova ova-vmware \
	appliance-lint appliance-test appliance-test-only appliance-clean

# Host tools (Debian packages), installed only when missing.
appliance-deps:
	@tools/apt-ensure qemu-system-x86 qemu-utils mmdebstrap packer ansible-core ansible-lint nftables \
		python3-testinfra python3-pytest python3-pytest-xdist grub-pc-bin grub2-common fdisk xorriso openssh-client e2fsprogs

$(A_KEY):
	mkdir -p $(dir $@)
	ssh-keygen -q -t ed25519 -N '' -C darwinmail-build -f $@

# The Debian 12 base disk (mmdebstrap; the root filesystem tarball is cached).
appliance-base: appliance-deps $(A_KEY)
	$(A_TIMED) base-image appliance/scripts/build-base.sh $(A_BASE) $(APPLIANCE_CACHE) $(A_KEY).pub

# The jlink runtime beside dist/ (only the modules jdeps finds, + jdk.charsets). Its AOT cache is trained inside the
# image, in place, by the darwinmail role (ARCHITECTURE.md, "The launcher and the JVM").
appliance-runtime: dist
	$(A_TIMED) jlink-runtime appliance/scripts/jlink-runtime.sh $(DIST) $(A_RUNTIME)

appliance-bundle: appliance-runtime
	appliance/scripts/make-bundle.sh $(DIST) $(A_RUNTIME) $(APPLIANCE_VERSION) $(A_BUNDLE)

# The provisioned system disk: Packer boots the base under QEMU (TCG) and runs
# ansible/site.yml through SSH bound to 127.0.0.1.
# appliance/scripts/packer-qemu.sh bounds the build in time and runs it once more after an overrun.
image: appliance-base appliance-bundle
	TIMED_TAIL=$(A_IMAGE_DIR)-serial.log $(A_TIMED) provisioning \
		appliance/scripts/packer-qemu.sh $(A_IMAGE_DIR) $(A_BASE) $(A_PACKER_VARS)
	@ls -l $(A_IMAGE) && qemu-img info $(A_IMAGE) | sed -n '1,4p'

ova: image
	rm -f $(AB)/darwinmail-*.ova
	$(A_TIMED) ova $(PY) appliance/scripts/make-ova.py --system $(A_IMAGE) --out $(A_OVA) \
		--version $(APPLIANCE_VERSION) --base $(APPLIANCE_BASE) --git-commit $(APPLIANCE_COMMIT)
	printf 'APPLIANCE_OVA=%s\nAPPLIANCE_VERSION=%s\nAPPLIANCE_BASE=%s\n' $(CURDIR)/$(A_OVA) $(APPLIANCE_VERSION) \
		$(APPLIANCE_BASE) > $(AB)/ova.env
	@ls -l $(A_OVA)

# Production: EL 9 from its ISO with the kickstart, under VMware Workstation or
# ESXi (Packer's vmware plugin and ovftool needed), then repacked with the
# appliance's descriptor. Needs EL_ISO=<url or path> EL_ISO_CHECKSUM=sha256:...
ova-vmware: appliance-bundle $(A_KEY)
	@test -n "$(EL_ISO)" && test -n "$(EL_ISO_CHECKSUM)" || { echo "ova-vmware: set EL_ISO and EL_ISO_CHECKSUM (an AlmaLinux/Rocky 9 ISO)" >&2; exit 1; }
	@command -v vmrun >/dev/null || command -v vmware >/dev/null || test -n "$(VMWARE_REMOTE)" || { echo "ova-vmware: VMware Workstation/ESXi is not available on this machine" >&2; exit 1; }
	@command -v ovftool >/dev/null || { echo "ova-vmware: ovftool is not installed" >&2; exit 1; }
	appliance/scripts/render-kickstart.sh $(AB)/http $(A_KEY).pub $(APPLIANCE_VERSION)
	rm -rf $(AB)/image-vmware
	packer build -only=vmware-iso.darwinmail $(A_PACKER_VARS) -var output_dir=$(AB)/image \
		-var iso_url=$(EL_ISO) -var iso_checksum=$(EL_ISO_CHECKSUM) -var kickstart_dir=$(AB)/http packer/
	rm -rf $(AB)/vmware-ova && mkdir -p $(AB)/vmware-ova && tar -C $(AB)/vmware-ova -xf $(AB)/image-vmware/darwinmail.ova
	$(PY) appliance/scripts/make-ova.py --system "$$(ls $(AB)/vmware-ova/*-disk1.vmdk $(AB)/vmware-ova/*disk-0.vmdk 2>/dev/null | head -n1)" \
		--out $(AB)/darwinmail-$(APPLIANCE_VERSION)-el9.ova --version $(APPLIANCE_VERSION) --base el9 --git-commit $(APPLIANCE_COMMIT)

appliance-lint: appliance-deps $(A_KEY)
	cd ansible && ansible-lint
	cd ansible && ansible-playbook --syntax-check -i localhost, site.yml
	packer validate $(A_PACKER_VARS) packer/
	appliance/scripts/render-kickstart.sh $(AB)/http-lint $(A_KEY).pub $(APPLIANCE_VERSION) >/dev/null
	mkdir -p $(AB) && $(PY) appliance/scripts/render-nftables.py > $(AB)/nftables-lint.conf
	nft -c -f $(AB)/nftables-lint.conf
	bash -n appliance/scripts/build-base.sh appliance/scripts/jlink-runtime.sh appliance/scripts/make-bundle.sh \
		appliance/scripts/render-kickstart.sh appliance/scripts/timed \
		appliance/scripts/packer-qemu.sh
	rm -rf $(AB)/firstboot-lint && $(PY) appliance/scripts/render-firstboot.py $(AB)/firstboot-lint >/dev/null
	bash -n $(AB)/firstboot-lint/firstboot $(AB)/firstboot-lint/setup $(AB)/firstboot-lint/setup-code-console
	@echo "appliance-lint: passed"

# The whole appliance stage of `make test`.
appliance-test: appliance-lint ova appliance-test-only

# Only the tests, against the OVA last built by `make ova` (named in ova.env). Two workers, the tests grouped by the
# VM they boot (tests/appliance/conftest.py): two copies boot side by side, one emulator thread each.
appliance-test-only: appliance-deps
	@test -f $(AB)/ova.env || { echo "appliance-test-only: no OVA built yet (make ova)" >&2; exit 1; }
	rm -rf $(AB)/test
	set -a && . $(AB)/ova.env && set +a && \
	$(A_TIMED) appliance-tests env APPLIANCE_WORK=$(CURDIR)/$(AB)/test \
		$(PY) -m pytest -p no:cacheprovider -v -n 2 --dist loadgroup tests/appliance
	@cat $(APPLIANCE_TIMINGS) | tail -n 12

appliance-clean:
	rm -rf $(AB)
