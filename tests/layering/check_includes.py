#!/usr/bin/env python3
"""Checks every #include under host/src, sdk and plugins against the folder
table of docs/architecture.md ("| folder | owns | may include |"), so the table
is the one place the layering is written and a new upward include fails here.

A folder may include itself, the folders its row names, and (transitively)
what those may include. "everything above" names every row above it. A row
whose "may include" cell says "known break" is reported but does not fail,
and fails once it has nothing left to report (so the mark cannot outlive the
break).

usage: check_includes.py SOURCE_DIR [--pretend FILE LINE]
  --pretend: check as if FILE (relative to SOURCE_DIR) also had LINE (the
  test that the check catches an upward include).
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
pretend = {}
if len(sys.argv) == 5 and sys.argv[2] == "--pretend":
    pretend[sys.argv[3]] = sys.argv[4]
table_rows = []  # (folder, may-include cell)
for line in (root / "docs/architecture.md").read_text().splitlines():
    m = re.match(r"\|\s*`([^`]+)/`\s*\|[^|]*\|(.*)\|\s*$", line)
    if m:
        # `plugins/<type>/`: every folder under plugins/ (plugins/common/ too).
        table_rows.append((re.sub(r"/<[^>]+>$", "", m.group(1)), m.group(2)))

folders = [folder for folder, _ in table_rows]
# What an include's first path component names: host/src/<x>, the generated
# protos, the SDK headers.
short_names = {f.split("/")[-1]: f for f in folders if f.startswith("host/src/")}
short_names.update({"proto": "host/proto", "sdk": "sdk/include/bbr"})
include_roots = dict(short_names)
include_roots.update({"envoy": "host/proto", "grpc": "host/proto", "bbr": "sdk/include/bbr"})


def named_folders(cell, above):
    if "everything above" in cell:
        return set(above)
    if re.search(r"sdk headers only", cell, re.I):
        return {"sdk/include/bbr"}
    words = re.findall(r"[a-z_]+", cell.lower())
    return {short_names[w] for w in words if w in short_names}


direct = {}
known_break = set()
for i, (folder, cell) in enumerate(table_rows):
    direct[folder] = named_folders(cell, folders[:i])
    if "known break" in cell:
        known_break.add(folder)


def allowed(folder, seen=None):
    seen = set() if seen is None else seen
    for dep in direct.get(folder, ()):
        if dep not in seen:
            seen.add(dep)
            allowed(dep, seen)
    return seen


SOURCE_SUFFIXES = (".c", ".cpp", ".h", ".hpp", ".inc")


def owner(path):
    rel = path.relative_to(root).as_posix()
    best = None
    for folder in folders:
        if rel.startswith(folder + "/") and (best is None or len(folder) > len(best)):
            best = folder
    return best


include_re = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
failures, reported = [], {f: 0 for f in known_break}
checked = 0
for top in ("host/src", "sdk", "plugins"):
    for path in sorted((root / top).rglob("*")):
        if path.suffix not in SOURCE_SUFFIXES:
            continue
        folder = owner(path)
        if folder is None:
            failures.append(f"{path.relative_to(root)}: no row of the folder table owns this file")
            continue
        checked += 1
        ok = allowed(folder) | {folder}
        text = path.read_text(errors="replace") + "\n" + pretend.get(path.relative_to(root).as_posix(), "")
        for bracket, name in include_re.findall(text):
            first = name.split("/")[0]
            if "/" not in name or first not in include_roots:
                continue  # same folder, or a system / third-party header
            if bracket == "<" and first != "bbr":
                continue
            target = include_roots[first]
            if folder.startswith("plugins/") and first not in ("bbr",):
                continue  # plugins/<type>/ including plugins/common/ or itself
            if target in ok:
                continue
            line = f"{path.relative_to(root)}: includes \"{name}\" ({target}/), which {folder}/ may not include"
            if folder in known_break:
                reported[folder] += 1
                print("known break:", line)
            else:
                failures.append(line)

for folder, count in reported.items():
    if count == 0:
        failures.append(f"{folder}/: marked \"known break\" in docs/architecture.md but has none: remove the mark")
print(f"checked {checked} files against {len(folders)} rows of docs/architecture.md")
for line in failures:
    print("LAYERING:", line)
sys.exit(1 if failures else 0)
