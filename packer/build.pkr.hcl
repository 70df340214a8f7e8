packer {
  required_version = ">= 1.6.6"
}

# One build, two sources, the same Ansible roles for both.
#   packer build -only=qemu.darwinmail packer/        (here, by `make image`)
#   packer build -only=vmware-iso.darwinmail packer/  (production, `make ova-vmware`)
build {
  sources = ["source.qemu.darwinmail", "source.vmware-iso.darwinmail"]

  provisioner "ansible" {
    # Paths from this folder (path.root), not from wherever packer was started.
    playbook_file = "${path.root}/../ansible/site.yml"
    user          = "root"
    use_proxy     = false
    extra_arguments = [
      "--extra-vars", "darwinmail_bundle=${abspath(var.darwinmail_bundle)} darwinmail_version=${var.version}",
    ]
    ansible_env_vars = [
      "ANSIBLE_CONFIG=${path.root}/../ansible/ansible.cfg",
      "ANSIBLE_HOST_KEY_CHECKING=False",
    ]
  }

  post-processor "manifest" {
    output     = "${var.output_dir}-manifest.json"
    strip_path = true
    custom_data = {
      version    = var.version
      git_commit = var.git_commit
    }
  }
}
