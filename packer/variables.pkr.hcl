# Variables of the Darwin Mail appliance build. Values for a run go in a
# *.pkrvars.hcl file (see darwinmail.pkrvars.hcl.example); the Makefile
# (appliance/appliance.mk) passes the ones the qemu build needs.

variable "version" {
  type        = string
  description = "Appliance version, written into the image and the OVA's product section."
  default     = "0.0.0-dev"
}

variable "git_commit" {
  type        = string
  description = "Git commit the image is built from (recorded in the build manifest)."
  default     = "unknown"
}

variable "output_dir" {
  type        = string
  description = "Folder Packer creates for the built disks (must not exist yet)."
  default     = "build/appliance/packer-output"
}

variable "darwinmail_bundle" {
  type        = string
  description = "The server bundle (.tar.gz with bin/, lib/, conf/, runtime/) made by appliance/scripts/make-bundle.sh."
  default     = "build/appliance/darwinmail-bundle.tar.gz"
}

variable "ssh_private_key_file" {
  type        = string
  description = "Private key whose public half the base disk (qemu) or kickstart (vmware) authorises for root during provisioning; the cleanup role removes it."
  default     = "build/appliance/ssh/id_ed25519"
}

variable "cpus" {
  type        = number
  description = "vCPUs of the build VM and of the appliance."
  default     = 2
}

variable "memory" {
  type        = number
  description = "Memory of the build VM and of the appliance, MB."
  default     = 4096
}

variable "system_disk_mb" {
  type        = number
  description = "System disk size, MB (ARCHITECTURE.md, 'The appliance build path': 16 GB)."
  default     = 16384
}

variable "data_disk_mb" {
  type        = number
  description = "Data disk size, MB (ARCHITECTURE.md, 'The appliance build path': 64 GB); only the vmware build attaches it during the build, left blank for the datadisk role."
  default     = 65536
}

# --- qemu (built and tested here, software emulation) -----------------------

variable "qemu_base_image" {
  type        = string
  description = "The Debian 12 base disk made by appliance/scripts/build-base.sh (mmdebstrap)."
  default     = "build/appliance/base.qcow2"
}

variable "qemu_accelerator" {
  type        = string
  description = "QEMU accelerator: tcg here (no working KVM), kvm where it works."
  default     = "tcg"
}

# --- vmware-iso (production: EL 9 installed by kickstart) -------------------

variable "iso_url" {
  type        = string
  description = "EL 9 installation ISO (AlmaLinux or Rocky Linux 9 minimal or DVD)."
  default     = "https://repo.almalinux.org/almalinux/9/isos/x86_64/AlmaLinux-9-latest-x86_64-minimal.iso"
}

variable "iso_checksum" {
  type        = string
  description = "Checksum of the ISO, e.g. \"sha256:...\" or \"file:https://.../CHECKSUM\". `make ova-vmware` refuses to build without one; \"none\" only lets `packer validate` run offline."
  default     = "none"
}

variable "kickstart_dir" {
  type        = string
  description = "Folder holding the rendered ks.cfg, served by Packer's HTTP server (appliance.mk renders kickstart/ks.cfg.tmpl into it)."
  default     = "build/appliance/http"
}

variable "vmware_guest_os_type" {
  type        = string
  description = "VMware guest OS identifier of the production image."
  default     = "rhel9-64"
}

