#!/usr/bin/env python3
"""Runs the plugin-authoring tutorial as a reader would, in an empty directory.

From docs/plugin-authoring.md and then docs/plugin-testing.md (when it exists),
in document order:
* a fenced block right after `<!-- tutorial-file: PATH -->` is written to PATH;
* a ```sh block whose lines include `# tutorial-step` is run.
Everything goes into one shell script (so `export`s carry over), run with
`sh -eu` in $HOME = a fresh directory holding only a `build` link to the build
tree (the tutorial installs the SDK from it) and with bbr-host first on PATH.
Every ```sh block of plugin-authoring.md must be a tutorial step: a command a
reader is shown is a command this test runs.

usage: tutorial_test.py <source dir> <build dir> <bbr-host binary> <work dir>
"""
import os
import re
import shutil
import subprocess
import sys

FENCE = re.compile(r"^```(\S*)\s*$")
FILE_MARK = re.compile(r"^<!--\s*tutorial-file:\s*(\S+)\s*-->\s*$")
EOF_MARK = "__BBR_TUTORIAL_EOF__"


def blocks(path):
    """Yields (kind, line number, info, text, file target) per fenced block."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    i = 0
    pending_file = None
    while i < len(lines):
        mark = FILE_MARK.match(lines[i])
        if mark:
            pending_file = mark.group(1)
            i += 1
            continue
        fence = FENCE.match(lines[i])
        if not fence:
            if lines[i].strip():
                pending_file = None  # the mark belongs to the block right after it
            i += 1
            continue
        info, start = fence.group(1), i + 1
        j = start
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        if j >= len(lines):
            raise SystemExit(f"{path}:{i + 1}: unterminated fenced block")
        yield info, start, "\n".join(lines[start:j]) + "\n", pending_file
        pending_file = None
        i = j + 1


def script_for(path, strict):
    parts, problems, steps = [], [], 0
    name = os.path.basename(path)
    for info, line, text, target in blocks(path):
        if target is not None:
            if EOF_MARK in text or os.path.isabs(target) or ".." in target.split("/"):
                problems.append(f"{name}:{line}: tutorial-file {target} cannot be written safely")
                continue
            parts.append(f"echo '== {name}:{line}: write {target}'\n"
                         f"mkdir -p \"$(dirname '{target}')\"\n"
                         f"cat > '{target}' <<'{EOF_MARK}'\n{text}{EOF_MARK}\n")
        elif info == "sh":
            if "# tutorial-step" in text.splitlines():
                steps += 1
                parts.append(f"echo '== {name}:{line}: run'\n{text}")
            elif strict:
                problems.append(f"{name}:{line}: a ```sh block without '# tutorial-step': "
                                "every command shown must be run by this test")
    return parts, problems, steps


def main():
    source_dir, build_dir, binary, work = sys.argv[1:5]
    docs = [os.path.join(source_dir, "docs", "plugin-authoring.md")]
    testing = os.path.join(source_dir, "docs", "plugin-testing.md")
    if os.path.exists(testing):
        docs.append(testing)

    script, problems, counted = ["set -eu\numask 022\ncd \"$HOME\"\n"], [], {}
    for doc in docs:
        parts, doc_problems, steps = script_for(doc, strict=doc == docs[0])
        script += parts
        problems += doc_problems
        counted[os.path.basename(doc)] = steps
    if counted[os.path.basename(docs[0])] == 0:
        problems.append("plugin-authoring.md has no tutorial steps")
    if problems:
        print("\n".join(problems))
        return 1

    shutil.rmtree(work, ignore_errors=True)
    home = os.path.join(work, "home")
    os.makedirs(home)
    os.chmod(work, 0o755)
    os.chmod(home, 0o755)
    os.symlink(os.path.abspath(build_dir), os.path.join(home, "build"))
    script_path = os.path.join(work, "tutorial.sh")
    with open(script_path, "w", encoding="utf-8") as f:
        f.write("".join(script))
    env = dict(os.environ)
    env["HOME"] = home
    env["PATH"] = os.path.dirname(os.path.abspath(binary)) + os.pathsep + env.get("PATH", "")
    for var in ("CMAKE_PREFIX_PATH", "PKG_CONFIG_PATH", "BBR_SDK"):
        env.pop(var, None)
    print(f"steps: {counted}; script: {script_path}", flush=True)
    result = subprocess.run(["sh", "-eu", script_path], cwd=home, env=env)
    if result.returncode != 0:
        print(f"FAIL: the tutorial stopped with status {result.returncode} (see the last '==' line)")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
