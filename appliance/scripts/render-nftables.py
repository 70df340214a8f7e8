#!/usr/bin/python3
"""Prints the base role's nftables ruleset as Ansible renders it with the role's defaults, for `nft -c -f` in
`make appliance-lint` (the build checks it again on the image: the template task's validate)."""
import pathlib
import sys

import jinja2
import yaml

role = pathlib.Path(__file__).resolve().parents[2] / "ansible" / "roles" / "base"
defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
template = jinja2.Template((role / "templates" / "nftables.conf.j2").read_text(), undefined=jinja2.StrictUndefined)
sys.stdout.write(template.render(ansible_managed="rendered by appliance/scripts/render-nftables.py", **defaults))
sys.stdout.write("\n")
