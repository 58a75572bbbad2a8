"""The man pages and the configuration reference stay in sync with the code:
every key the config loader knows (its *_keys tables in config/*.c) is
documented in okrd.json(5) and docs/configuration.md, every command in
okrd(8), and `man -l` renders both pages without a warning."""
import glob
import os
import re
import shutil
import subprocess

from okrdtest import check, main, run, skip

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def config_keys():
    keys = set()
    for path in glob.glob(os.path.join(ROOT, "config", "*.c")):
        with open(path) as f:
            src = f.read()
        for body in re.findall(r"static const char \*const \w+_keys\[\] = \{(.*?)\};", src, re.S):
            keys.update(re.findall(r'"([a-z_]+)"', body))
    return keys


def read(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return f.read()


def test_every_key_documented(args, wd):
    keys = config_keys()
    check(len(keys) > 60, f"found the loader's key tables ({len(keys)} keys)")
    page = read("docs", "man", "man5", "okrd.json.5").replace("\\-", "-").replace("\\(dq", '"')
    ref = read("docs", "configuration.md")
    missing_man = sorted(k for k in keys if not re.search(r"\b" + re.escape(k) + r"\b", page))
    missing_ref = sorted(k for k in keys if f"`{k}`" not in ref and f"{k}" not in ref)
    check(not missing_man, f"keys missing from okrd.json(5): {missing_man}")
    check(not missing_ref, f"keys missing from docs/configuration.md: {missing_ref}")


def test_every_command_documented(args, wd):
    page = read("docs", "man", "man8", "okrd.8")
    r = run(args.okrd, "--help")
    commands = re.findall(r"^  (\w+) ", r.stdout, re.M)
    check(set(commands) >= {"run", "check", "status", "ingest", "export", "version"},
          f"commands from --help: {commands}")
    for c in commands:
        check(f".B okrd {c}" in page or f"\n.B {c}\n" in page, f"okrd(8) documents `{c}`")
    for sig in ("SIGHUP", "SIGTERM"):
        check(sig in page, f"okrd(8) documents {sig}")


def test_man_renders_cleanly(args, wd):
    if not shutil.which("man"):
        skip("man is not installed (Debian package man-db)")
    for page in ("man8/okrd.8", "man5/okrd.json.5"):
        r = subprocess.run(["man", "--warnings", "-l", os.path.join(ROOT, "docs", "man", page)],
                           capture_output=True, text=True, env={**os.environ, "MANWIDTH": "80",
                                                                "LC_ALL": "C.UTF-8"})
        check(r.returncode == 0 and r.stdout, f"{page} renders: {r.returncode}")
        check(r.stderr.strip() == "", f"{page} renders without warnings:\n{r.stderr}")


if __name__ == "__main__":
    main([test_every_key_documented, test_every_command_documented, test_man_renders_cleanly])
