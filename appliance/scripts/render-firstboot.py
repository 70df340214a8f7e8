#!/usr/bin/python3
"""Renders the firstboot role's shell scripts (firstboot, setup, setup-code-console) as Ansible would with the
roles' defaults, into the folder given, for `bash -n` in `make appliance-lint`: a shell error in a script that runs
once per deployed copy would otherwise show only on a booted appliance."""
import pathlib
import sys

import jinja2
import yaml

roles = pathlib.Path(__file__).resolve().parents[2] / "ansible" / "roles"
values = {"ansible_managed": "rendered by appliance/scripts/render-firstboot.py"}
for role in ("base", "datadisk", "darwinmail", "firstboot"):
    values.update(yaml.safe_load((roles / role / "defaults" / "main.yml").read_text()) or {})
# Defaults that name other variables ("{{ datadisk_mount_point }}"): resolved as Ansible would, lazily.
for _ in range(3):
    values = {k: jinja2.Template(v).render(**values) if isinstance(v, str) and "{{" in v else v
              for k, v in values.items()}
out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
templates = roles / "firstboot" / "templates"
for name in ("firstboot", "setup", "setup-code-console"):
    t = jinja2.Template((templates / (name + ".j2")).read_text(), undefined=jinja2.StrictUndefined,
                        keep_trailing_newline=True)
    (out / name).write_text(t.render(**values))
    print(out / name)
