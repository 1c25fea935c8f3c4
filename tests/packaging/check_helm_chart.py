#!/usr/bin/env python3
"""Checks the Helm chart without Helm (not installable here, so nothing is rendered).

* Chart.yaml and values.yaml parse and have the required fields;
* every template's {{ }} actions are closed and its if/range/with/define
  blocks are balanced by `end`;
* every .Values.a.b path a template or helper reads exists in values.yaml;
* every --flag the deployment passes is a real `bbr-host serve` flag;
* the default chain configuration in values.yaml passes `bbr-host config check`;
* the probes use the health port, the security context is non-root with a
  read-only root file system, and the default args are the reference chart's.

usage: check_helm_chart.py <chart dir> <bbr-host binary> <scratch dir>
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

BLOCK_OPENERS = ("if", "range", "with", "define", "block")


def check_actions(name, text, problems):
    depth = 0
    for m in re.finditer(r"\{\{-?\s*(.*?)\s*-?\}\}", text, re.S):
        action = m.group(1)
        if action.startswith("/*"):
            continue
        keyword = action.split()[0] if action.split() else ""
        if keyword in BLOCK_OPENERS:
            depth += 1
        elif keyword == "end":
            depth -= 1
            if depth < 0:
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{name}:{line}: `end` without an open block")
                depth = 0
        elif keyword == "else" and depth == 0:
            line = text.count("\n", 0, m.start()) + 1
            problems.append(f"{name}:{line}: `else` outside a block")
    if depth != 0:
        problems.append(f"{name}: {depth} block(s) not closed with `end`")
    if text.count("{{") != text.count("}}"):
        problems.append(f"{name}: {text.count('{{')} '{{{{' but {text.count('}}')} '}}}}'")


def value_exists(values, path):
    node = values
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def main():
    chart_dir, binary, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    problems = []

    with open(os.path.join(chart_dir, "Chart.yaml"), encoding="utf-8") as f:
        chart = yaml.safe_load(f)
    for key in ("apiVersion", "name", "version", "appVersion"):
        if key not in chart:
            problems.append(f"Chart.yaml: {key} missing")
    if chart.get("apiVersion") != "v2":
        problems.append("Chart.yaml: apiVersion must be v2")
    with open(os.path.join(chart_dir, "values.yaml"), encoding="utf-8") as f:
        values = yaml.safe_load(f)

    template_dir = os.path.join(chart_dir, "templates")
    templates = sorted(os.listdir(template_dir))
    referenced = set()
    all_text = {}
    for name in templates:
        with open(os.path.join(template_dir, name), encoding="utf-8") as f:
            text = f.read()
        all_text[name] = text
        check_actions(name, text, problems)
        for m in re.finditer(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text):
            path = m.group(1).lstrip(".").split(".")
            referenced.add(tuple(path))
            if not value_exists(values, path):
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{name}:{line}: .Values.{'.'.join(path)} is not in values.yaml")
    print(f"templates: {', '.join(templates)}; {len(referenced)} distinct .Values paths checked")

    # Values nobody reads are dead settings: each top-level key must be used.
    used_top = {path[0] for path in referenced}
    for key in values:
        if key not in used_top:
            problems.append(f"values.yaml: top-level key {key!r} is not used by any template")

    # --- the deployment's flags are bbr-host flags ---------------------------
    help_text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
    deployment = all_text["deployment.yaml"]
    args_block = deployment[deployment.index("args:"):deployment.index("ports:")]
    flags = sorted(set(re.findall(r"^\s*- (--[a-z0-9-]+)", args_block, re.M)))
    for flag in flags:
        if not re.search(r"(^|[\s,])" + re.escape(flag) + r"\b", help_text):
            problems.append(f"deployment.yaml passes {flag}, which `bbr-host serve --help` does not list")
    print(f"deployment flags checked: {' '.join(flags)}")
    # The reference chart's defaults: --streaming and --v=3.
    if values["bbr"]["streaming"] is not True or values["bbr"]["verbosity"] != 3:
        problems.append("values.yaml: bbr.streaming=true and bbr.verbosity=3 are the reference chart's defaults")
    # A large int in values.yaml renders as 1.048576e+08 unless converted.
    if "int64 .Values.bbr.maxBodyBytes" not in deployment:
        problems.append("deployment.yaml: --max-body-bytes must be rendered through int64")

    # --- probes and security -------------------------------------------------
    for probe in ("livenessProbe", "readinessProbe"):
        if not re.search(probe + r":\s*\n\s*grpc:\s*\n\s*port: \{\{ \.Values\.bbr\.healthPort \}\}", deployment):
            problems.append(f"deployment.yaml: {probe} must be a gRPC probe on .Values.bbr.healthPort")
    if values["securityContext"].get("readOnlyRootFilesystem") is not True:
        problems.append("values.yaml: securityContext.readOnlyRootFilesystem must default to true")
    if values["podSecurityContext"].get("runAsNonRoot") is not True:
        problems.append("values.yaml: podSecurityContext.runAsNonRoot must default to true")
    if values["provider"]["name"] != "none":
        problems.append("values.yaml: gateway integration must be off by default (provider.name: none)")

    # --- the default chain configuration is valid ---------------------------
    config_path = os.path.join(work, "chain-config.yaml")
    with open(config_path, "w", encoding="utf-8") as f:
        f.write(values["chainConfig"]["config"])
    check = subprocess.run([binary, "config", "check", config_path], capture_output=True, text=True)
    if check.returncode != 0:
        problems.append(f"values.yaml chainConfig.config fails `bbr-host config check`: "
                        f"{check.stdout.strip()} {check.stderr.strip()}")
    adapters_dir = yaml.safe_load(values["chainConfig"]["config"])["plugins"][1]["parameters"]["adaptersDir"]
    if adapters_dir != values["adapters"]["mountPath"]:
        problems.append(f"chainConfig adaptersDir {adapters_dir} is not adapters.mountPath "
                        f"{values['adapters']['mountPath']}")

    for p in problems:
        print("FAIL:", p)
    if problems:
        return 1
    print("Helm chart OK (structure and references only: not rendered, Helm is not available)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
