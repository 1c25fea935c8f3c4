#!/usr/bin/env python3
"""Checks the files the package installs for operators against the real binary.

* packaging/config.example.yaml passes `bbr-host config check`;
* packaging/adapters.example.yaml has the base-model-to-header file shape;
* the systemd unit starts the installed binary with `serve`, and every flag in
  the EnvironmentFile template (active or in comments) is a real serve flag.

usage: check_operator_files.py <packaging dir> <bbr-host binary> <scratch dir>
"""
import os
import re
import subprocess
import sys

try:
    import yaml
except ImportError:
    print("SKIP: python3 yaml module missing (apt-get install python3-yaml)")
    sys.exit(77)


def main():
    packaging, binary, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    problems = []

    config = os.path.join(packaging, "config.example.yaml")
    check = subprocess.run([binary, "config", "check", config], capture_output=True, text=True)
    if check.returncode != 0:
        problems.append(f"config.example.yaml fails `bbr-host config check`: {check.stdout} {check.stderr}")
    else:
        print("config.example.yaml: bbr-host config check OK")

    with open(os.path.join(packaging, "adapters.example.yaml"), encoding="utf-8") as f:
        adapters = yaml.safe_load(f)
    if set(adapters) != {"baseModel", "adapters"} or not isinstance(adapters["adapters"], list):
        problems.append("adapters.example.yaml must hold exactly baseModel and a list adapters")

    with open(os.path.join(packaging, "systemd", "bbr-host.service"), encoding="utf-8") as f:
        unit = f.read()
    exec_start = re.search(r"^ExecStart=(\S+) (\S+)", unit, re.M)
    if not exec_start or exec_start.groups() != ("/usr/bin/bbr-host", "serve"):
        problems.append("bbr-host.service: ExecStart must run /usr/bin/bbr-host serve")

    help_text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
    with open(os.path.join(packaging, "systemd", "bbr-host.default"), encoding="utf-8") as f:
        default_file = f.read()
    flags = sorted(set(re.findall(r"(--[a-z][a-z0-9-]*)", default_file)))
    for flag in flags:
        if not re.search(r"(^|[\s,])" + re.escape(flag) + r"\b", help_text):
            problems.append(f"bbr-host.default mentions {flag}, not a `bbr-host serve` flag")
    active = re.search(r'^BBR_HOST_ARGS="([^"]*)"', default_file, re.M)
    if not active:
        problems.append("bbr-host.default sets no BBR_HOST_ARGS")
    else:
        # The active arguments must be accepted by the parser: --help after them
        # parses everything and exits 0 without serving.
        parsed = subprocess.run([binary, "serve"] + active.group(1).split() + ["--help"],
                                capture_output=True, text=True)
        if parsed.returncode != 0:
            problems.append(f"bbr-host serve {active.group(1)} is rejected: {parsed.stderr.strip()}")
    print(f"flags checked: {' '.join(flags)}")

    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
