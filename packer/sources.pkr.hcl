# Two sources, one provisioner (build.pkr.hcl).

# Built here: the Debian 12 base disk booted under QEMU with software
# emulation, with the VMware virtual hardware (PVSCSI disk, vmxnet3 NIC) so the
# image's initramfs is known to boot on it. SSH and VNC are bound to loopback.
source "qemu" "darwinmail" {
  vm_name          = "darwinmail-system.qcow2"
  iso_url          = var.qemu_base_image
  iso_checksum     = "none"
  disk_image       = true
  use_backing_file = false
  disk_size        = "${var.system_disk_mb}M"
  format           = "qcow2"
  disk_interface   = "virtio-scsi"
  net_device       = "vmxnet3"
  disk_discard     = "unmap"
  disk_compression = false
  accelerator      = var.qemu_accelerator
  cpus             = var.cpus
  memory           = 2048
  headless         = true
  vnc_bind_address = "127.0.0.1"
  output_directory = var.output_dir
  qemuargs = [
    ["-cpu", "max"],
    ["-netdev", "user,id=user.0,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22"],
    ["-serial", "file:${var.output_dir}-serial.log"],
  ]
  communicator         = "ssh"
  ssh_username         = "root"
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = "20m"
  boot_wait            = "5s"
  shutdown_command     = "systemctl poweroff"
  shutdown_timeout     = "10m"
}

# Production: EL 9 installed from its ISO by the kickstart (kickstart/), on the
# appliance's virtual hardware, exported by ovftool; appliance.mk then repacks
# its disks with the appliance's OVF descriptor (properties, product section).
source "vmware-iso" "darwinmail" {
  vm_name              = "darwinmail"
  iso_url              = var.iso_url
  iso_checksum         = var.iso_checksum
  guest_os_type        = var.vmware_guest_os_type
  version              = 19
  cpus                 = var.cpus
  memory               = var.memory
  disk_size            = var.system_disk_mb
  disk_additional_size = [var.data_disk_mb]
  disk_adapter_type    = "pvscsi"
  disk_type_id         = 0
  network_adapter_type = "vmxnet3"
  headless             = true
  vnc_bind_address     = "127.0.0.1"
  http_directory       = var.kickstart_dir
  http_bind_address    = "0.0.0.0"
  boot_wait            = "10s"
  boot_command = [
    "<up><tab> inst.text inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg<enter><wait>"
  ]
  output_directory     = "${var.output_dir}-vmware"
  format               = "ova"
  communicator         = "ssh"
  ssh_username         = "root"
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = "60m"
  shutdown_command     = "systemctl poweroff"
}
