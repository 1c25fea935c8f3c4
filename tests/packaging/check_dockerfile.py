#!/usr/bin/env python3
"""Checks packaging/Dockerfile without a Docker engine.

* every package named in an `apt-get install` exists in this machine's apt
  lists (the Dockerfile's base is Debian bookworm; skipped elsewhere);
* every -D<VAR>= given to cmake is a CMake variable or an option()/cache
  variable the project declares, and BOOL options get ON/OFF;
* the stages referenced by COPY --from exist, the exposed ports are the
  binary's default ports, the entrypoint is the installed binary path;
* the bbr-host commands the image runs at build time work with the built binary.

usage: check_dockerfile.py <Dockerfile> <source dir> <bbr-host binary>
"""
import os
import re
import shutil
import subprocess
import sys

SKIP = 77
# Packages of scripts/setup-debian.sh that only tests or developers need.
# cargo builds only the Rust example's test; doxygen only the SDK's header
# reference (the image ships the server, not the SDK; both are optional).
NOT_NEEDED_IN_IMAGE = {"catch2", "libbenchmark-dev", "git", "curl", "openssl", "yamllint", "python3-yaml",
                       "cargo", "doxygen", "ccache"}


def logical_lines(text):
    """Joins backslash continuations, drops comments."""
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    return lines


def apt_packages(lines):
    packages = []
    for line in lines:
        if not line.upper().startswith("RUN "):
            continue
        for command in re.split(r"&&|;", line[4:]):
            words = command.split()
            if "apt-get" not in words or "install" not in words:
                continue
            for word in words[words.index("install") + 1:]:
                if word.startswith("-") or "/" in word or "=" in word:
                    continue
                packages.append(word)
    return packages


def declared_cache_variables(source_dir):
    names = {}
    for root, dirs, files in os.walk(source_dir):
        dirs[:] = [d for d in dirs if not d.startswith((".", "build"))]
        for name in files:
            if name != "CMakeLists.txt" and not name.endswith(".cmake"):
                continue
            with open(os.path.join(root, name), encoding="utf-8") as f:
                text = f.read()
            for m in re.finditer(r"\boption\(\s*([A-Za-z0-9_]+)", text):
                names[m.group(1)] = "BOOL"
            for m in re.finditer(r"\bset\(\s*([A-Za-z0-9_]+)[^)]*\bCACHE\s+(\w+)", text):
                names.setdefault(m.group(1), m.group(2))
    return names


def main():
    dockerfile, source_dir, binary = sys.argv[1:4]
    with open(dockerfile, encoding="utf-8") as f:
        lines = logical_lines(f.read())
    problems = []

    # --- stages, ports, entrypoint ---------------------------------------
    stages = [m.group(1) for l in lines for m in [re.match(r"FROM\s+\S+\s+AS\s+(\S+)", l, re.I)] if m]
    for line in lines:
        m = re.match(r"COPY\s+--from=(\S+)", line, re.I)
        if m and m.group(1) not in stages:
            problems.append(f"COPY --from={m.group(1)}: no such stage (stages: {stages})")
    exposed = sorted(int(p) for l in lines if l.upper().startswith("EXPOSE ") for p in l.split()[1:])
    if exposed != [9004, 9005, 9090]:
        problems.append(f"EXPOSE {exposed}: expected the default ports 9004 9005 9090")
    help_text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
    for flag, port in (("--grpc-port", 9004), ("--grpc-health-port", 9005), ("--metrics-port", 9090)):
        if not re.search(re.escape(flag) + r"\b[^\n]*\b" + str(port) + r"\b", help_text):
            problems.append(f"bbr-host serve --help does not show {flag} defaulting to {port}")
    entry = [l for l in lines if l.upper().startswith("ENTRYPOINT")]
    if entry != ['ENTRYPOINT ["/usr/bin/bbr-host"]']:
        problems.append(f"ENTRYPOINT should be [\"/usr/bin/bbr-host\"], got {entry}")
    if not any(l.upper().startswith("USER ") and not l.split()[1].startswith(("0", "root")) for l in lines):
        problems.append("no non-root USER in the image")

    # --- cmake -D options ---------------------------------------------------
    declared = declared_cache_variables(source_dir)
    defines = [m.groups() for l in lines for m in re.finditer(r"-D([A-Za-z0-9_]+)=(\S+)", l)]
    if not any(name == "BBR_BUILD_TESTS" and value == "OFF" for name, value in defines):
        problems.append("the image build must pass -DBBR_BUILD_TESTS=OFF")
    for name, value in defines:
        if name.startswith("CMAKE_"):
            continue
        if name not in declared:
            problems.append(f"-D{name}: the project declares no such option or cache variable")
        elif declared[name] == "BOOL" and value not in ("ON", "OFF"):
            problems.append(f"-D{name}={value}: a BOOL option takes ON or OFF")
    print(f"cmake -D options checked: {', '.join(n for n, _ in defines)}")

    # --- bbr-host commands run while building the image ---------------------
    for line in lines:
        for command in re.split(r"&&|;", line):
            words = command.split()
            if words and words[0] == "RUN":
                words = words[1:]
            if words and words[0] == "/usr/bin/bbr-host":
                result = subprocess.run([binary] + words[1:], capture_output=True, text=True)
                if result.returncode != 0:
                    problems.append(f"`{' '.join(words)}` fails with the built binary: {result.stderr.strip()}")
                else:
                    print(f"ran: bbr-host {' '.join(words[1:])}")

    # --- apt packages -------------------------------------------------------
    packages = apt_packages(lines)
    # Build dependencies added to the setup script must reach the image too.
    setup_script = os.path.join(source_dir, "scripts", "setup-debian.sh")
    if os.path.exists(setup_script):
        with open(setup_script, encoding="utf-8") as f:
            m = re.search(r"^packages=\((.*?)^\)", f.read(), re.S | re.M)
        listed = set()
        for line in (m.group(1).splitlines() if m else []):
            listed.update(line.split("#", 1)[0].split())
        missing = sorted(listed - set(packages) - NOT_NEEDED_IN_IMAGE)
        if missing:
            problems.append(f"scripts/setup-debian.sh installs {missing}, the Dockerfile's build stage does not "
                            f"(add them, or to NOT_NEEDED_IN_IMAGE in {os.path.basename(__file__)} if test-only)")
    if not packages:
        problems.append("no apt-get install found")
    apt_cache = shutil.which("apt-cache")
    codename = ""
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release", encoding="utf-8") as f:
            m = re.search(r"^VERSION_CODENAME=(\S+)", f.read(), re.M)
            codename = m.group(1) if m else ""
    apt_skipped = None
    if not apt_cache:
        apt_skipped = "apt-cache is not installed"
    elif codename != "bookworm":
        apt_skipped = f"this machine is Debian '{codename}', the Dockerfile builds on bookworm"
    else:
        probe = subprocess.run([apt_cache, "policy", "build-essential"], capture_output=True, text=True).stdout
        if "Candidate:" not in probe or "Candidate: (none)" in probe:
            apt_skipped = "apt lists are empty (run apt-get update)"
    if apt_skipped is None:
        for package in packages:
            out = subprocess.run([apt_cache, "policy", package], capture_output=True, text=True).stdout
            m = re.search(r"Candidate:\s*(\S+)", out)
            if not m or m.group(1) == "(none)":
                problems.append(f"apt package {package!r} has no installation candidate on bookworm")
        print(f"apt packages checked ({len(packages)}): {' '.join(packages)}")

    for p in problems:
        print("FAIL:", p)
    if problems:
        return 1
    if apt_skipped:
        print(f"SKIP: apt package names not checked: {apt_skipped}")
        return SKIP
    print("Dockerfile OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
