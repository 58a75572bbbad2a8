"""Everything the scripts run is installed by them: each command that
.ci/run and scripts/* invoke (and the programs the tests and CPack run for
them) comes from a package in scripts/debian-packages.txt or from a package
every Debian 12 has (Essential, or apt, which debootstrap's minbase holds).

A fresh Debian 12 failed at scripts/package because CPack's dpkg-shlibdeps
step needs `file`, which no list named. The commands are found by a small
shell lexer (command positions of each pipeline, $(...) included; heredoc
bodies, comments and quoted text skipped); PACKAGE_OF below maps each to its
Debian package and is checked against dpkg where dpkg is installed."""
import glob
import os
import re
import shlex
import shutil
import subprocess

from okrdtest import check, main

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# Debian 12's Essential packages, plus apt (Priority: required; in every
# debootstrap --variant=minbase root, and what installs the rest).
BASE = {"base-files", "base-passwd", "bash", "bsdutils", "coreutils", "dash", "debianutils",
        "diffutils", "dpkg", "findutils", "grep", "gzip", "hostname", "init-system-helpers",
        "libc-bin", "login", "ncurses-bin", "perl-base", "sed", "sysvinit-utils", "tar",
        "util-linux", "apt"}

# command -> the package that ships it (or, marked in METAPACKAGES, the
# listed package that pulls it in). Add a row when a script starts using a
# new command, and its package to scripts/debian-packages.txt unless BASE.
PACKAGE_OF = {
    "apt-get": "apt", "dpkg": "dpkg", "dpkg-deb": "dpkg", "dpkg-query": "dpkg",
    "cat": "coreutils", "cp": "coreutils", "date": "coreutils", "dirname": "coreutils",
    "id": "coreutils", "ls": "coreutils", "mkdir": "coreutils", "mktemp": "coreutils",
    "mv": "coreutils", "nproc": "coreutils", "rm": "coreutils", "sleep": "coreutils",
    "tail": "coreutils", "head": "coreutils", "wc": "coreutils", "sort": "coreutils",
    "sha256sum": "coreutils", "install": "coreutils", "chmod": "coreutils", "chown": "coreutils",
    "ln": "coreutils", "stat": "coreutils", "touch": "coreutils", "tee": "coreutils",
    "env": "coreutils", "timeout": "coreutils", "tr": "coreutils", "basename": "coreutils",
    "find": "findutils", "xargs": "findutils", "grep": "grep", "sed": "sed", "tar": "tar",
    "gzip": "gzip", "sh": "dash", "bash": "bash", "nsenter": "util-linux",
    "mount": "mount", "umount": "mount",
    "cmake": "cmake", "cpack": "cmake", "ctest": "cmake", "pkg-config": "pkg-config",
    "cc": "build-essential", "gcc": "build-essential", "make": "build-essential",
    "clang": "clang", "file": "file", "strace": "strace", "dpkg-shlibdeps": "dpkg-dev",
    "python3": "python3", "man": "man-db", "systemd-analyze": "systemd",
    "systemctl": "systemd", "journalctl": "systemd",
    "systemd-nspawn": "systemd-container", "machinectl": "systemd-container",
    "debootstrap": "debootstrap",
    "node": "nodejs", "nodejs": "nodejs", "npm": "npm",
    "prometheus": "prometheus", "promtool": "prometheus", "chromium": "chromium",
    "cmark-gfm": "cmark-gfm",
    "initdb": "postgresql-15", "pg_ctl": "postgresql-15", "pg_isready": "postgresql-15",
    "psql": "postgresql-15", "runuser": "util-linux",
    "curl": "curl", "git": "git", "ip": "iproute2",
}
# Packages that bring a command through their Depends rather than shipping
# it (so dpkg -S names another package), and npm, which NodeSource's nodejs
# ships where it is installed. postgresql-15: tests/pg/pgserver runs its
# /usr/lib/postgresql/15/bin programs, psql and pg_isready from
# postgresql-client-15, which it depends on (/usr/bin/psql is
# postgresql-client-common's wrapper).
VIA_DEPENDS = {"build-essential", "pkg-config", "python3", "npm", "postgresql-15"}
# `sudo` runs only when scripts/install-deps is not root (CI is root; a
# developer's machine has sudo); npm is installed by install-deps itself when
# missing (Debian's npm conflicts with NodeSource's nodejs, which bundles it).
NOT_REQUIRED = {"sudo"}
INSTALLED_BY_INSTALL_DEPS = {"npm"}
# What runs behind a command: cmake builds with a C compiler, make and
# pkg-config; `cpack -G DEB` with SHLIBDEPS ON runs dpkg-shlibdeps, which
# needs `file`; ctest runs the end-to-end tests (their programs are read
# from tests/**/*.py below).
IMPLIED = {"cmake": ["cc", "make", "pkg-config"], "cpack": ["dpkg-shlibdeps", "file"],
           "ctest": ["python3"]}
# Programs a test looks for in a way the scan below does not see.
TEST_PROGRAMS = {"chromium": "tests/e2e/test_dashboard.py",
                 # the *_pg tests' server (by path, from /usr/lib/postgresql/15/bin)
                 "initdb": "tests/pg/pgserver", "pg_ctl": "tests/pg/pgserver",
                 "pg_isready": "tests/pg/pgserver", "runuser": "tests/pg/pgserver",
                 "psql": "tests/e2e/okrdtest.py"}

SHELL_BUILTINS = {"cd", "set", "export", "echo", "printf", "test", "[", "trap", "exit",
                  "return", "shift", "read", "local", "eval", "exec", "wait", "kill", "true",
                  "false", "command", ":", ".", "break", "continue", "unset", "umask",
                  "type", "getopts", "readonly", "alias"}
KEYWORDS_BEFORE_COMMAND = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "}",
                           "fi", "done"}
SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", ";;", "\n"}


def shell_text(path):
    """The script with comments, heredoc bodies and line continuations
    removed and unquoted newlines turned into ';' (for shlex)."""
    with open(path) as f:
        lines = f.read().split("\n")
    out, quote, heredoc = [], None, None
    for line in lines:
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        res, i = "", 0
        while i < len(line):
            c = line[i]
            if quote:
                if c == quote:
                    quote = None
                elif c == "\\" and quote == '"':
                    res += c
                    i += 1
                    c = line[i] if i < len(line) else ""
            elif c in "'\"":
                quote = c
            elif c == "\\" and i == len(line) - 1:
                i += 1
                continue  # continuation: no separator
            elif c == "#" and (i == 0 or line[i - 1] in " \t;"):
                break
            res += c
            i += 1
        m = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", res) if not quote else None
        if m:
            heredoc = m.group(1)
        cont = line.endswith("\\") and not quote
        out.append(res + ("" if cont else ("\n" if quote else " ; ")))
    return "".join(out)


def _close(text, i):
    """The index just past the ")" closing the "(" before text[i], skipping
    quoted text."""
    depth, quote = 1, None
    while i < len(text) and depth:
        c = text[i]
        if quote:
            if c == quote:
                quote = None
            elif c == "\\" and quote == '"':
                i += 1
        elif c in "'\"":
            quote = c
        elif c == "\\":
            i += 1
        else:
            depth += {"(": 1, ")": -1}.get(c, 0)
        i += 1
    return i


def split_substitutions(text):
    """(text with each $(...) and $((...)) replaced by a placeholder word,
    the commands found inside them)."""
    out, found, i, quote = "", set(), 0, None
    while i < len(text):
        c = text[i]
        if quote == "'":
            quote = None if c == "'" else quote
        elif c == "'" and quote is None:
            quote = "'"
        elif c == '"':
            quote = None if quote == '"' else '"'
        elif c == "\\":
            out += text[i:i + 2]
            i += 2
            continue
        elif text.startswith("$((", i):
            j = _close(text, i + 3)
            j = j + 1 if j < len(text) and text[j] == ")" else j
            # arithmetic: no commands, but substitutions inside it
            found |= split_substitutions(text[i + 3:j - 2])[1]
            out += "0"
            i = j
            continue
        elif text.startswith("$(", i):
            j = _close(text, i + 2)
            found |= commands_in(text[i + 2:j - 1])
            out += "$__S__"
            i = j
            continue
        out += c
        i += 1
    return out, found


def commands_in(text):
    """Every program name in command position in a piece of shell."""
    text, found = split_substitutions(text)
    text = re.sub(r"\d*[<>]&\d+|\d*&>", " ", text)  # 2>&1, >&2: no "&" separator
    lex = shlex.shlex(text, posix=True, punctuation_chars=";&|()")
    lex.whitespace_split = True
    lex.commenters = ""
    tokens = list(lex)
    at_command, in_for = True, False
    for k, t in enumerate(tokens):
        if t in SEPARATORS:
            at_command = True
            continue
        if in_for:
            if t == "do":
                in_for, at_command = False, True
            continue
        if not at_command:
            continue
        if t == "for":
            in_for = True
            continue
        m = re.match(r"^(CC|CXX)=([\w.+-]+)$", t)
        if m:
            found.add(m.group(2))  # CC=clang cmake ...: cmake builds with clang
        if t in KEYWORDS_BEFORE_COMMAND or re.match(r"^\w+=", t):
            continue  # the command comes next
        if t.startswith("$") and "__S__" not in t:
            continue  # "$sudo apt-get ...": the next word is the command
        at_command = False
        if "/" in t or "__S__" in t or t in SHELL_BUILTINS:
            continue  # the project's own scripts and binaries; builtins
        found.add(t)
    return found


def functions_in(text):
    """Names the script defines as functions: name() { ...; }."""
    return set(re.findall(r"(?:^|[;\s])(\w+)\s*\(\)\s*\{", text))


def script_commands():
    paths = [os.path.join(ROOT, ".ci", "run")]
    paths += [p for p in glob.glob(os.path.join(ROOT, "scripts", "*"))
              if os.path.isfile(p) and open(p).readline().startswith("#!/bin/sh")]
    found = {}
    for p in paths:
        text = shell_text(p)
        for c in commands_in(text) - functions_in(text):
            found.setdefault(c, os.path.relpath(p, ROOT))
    return found


def test_programs():
    """Programs the Python tests run or look for (what ctest needs)."""
    found = {}
    for p in glob.glob(os.path.join(ROOT, "tests", "**", "*.py"), recursive=True):
        with open(p) as f:
            src = f.read()
        for name in re.findall(r'shutil\.which\("([\w.+-]+)"\)|'
                               r'subprocess\.(?:run|Popen|check_call|check_output)\(\["([\w.+-]+)"',
                               src):
            found.setdefault(name[0] or name[1], os.path.relpath(p, ROOT))
    return found


def listed_packages():
    with open(os.path.join(ROOT, "scripts", "debian-packages.txt")) as f:
        return {l.strip() for l in f if l.strip() and not l.startswith("#")}


def needed():
    """command -> who needs it, with IMPLIED programs added."""
    need = {**TEST_PROGRAMS, **test_programs(), **script_commands()}
    for cmd, why in list(need.items()):
        for extra in IMPLIED.get(cmd, []):
            need.setdefault(extra, f"{cmd} (for {why})")
    return need


def test_lexer_finds_commands(args, wd):
    # the lexer on the shapes the scripts use, so a blind spot fails here
    text = wd.file("s.sh", "#!/bin/sh\n# a comment naming gcc\nset -eu\n"
                   "jobs=$(nproc 2>/dev/null || echo 2)\n"
                   "for p in $(grep -v '^#' list.txt); do\n"
                   "    dpkg-query -W \"$p\" | grep -q ok || missing=\"$missing $p\"\n"
                   "done\n[ -z \"$x\" ] && exit 0\n$sudo apt-get install -y \\\n    $missing\n"
                   "f() { sed -n p \"$1\"; }\ny=${f##*/} CC=clang cmake --build x\n"
                   "cat <<'EOF'\nmake this heredoc's text\nEOF\n"
                   "python3 -c 'import os\nos.system(\"not a command\")'\n"
                   "if command -v npm >/dev/null; then mkdir -p \"$(dirname \"$0\")\"; fi\n"
                   "scripts/install-deps 2>&1 >&2\nx=1\nn=$(($(date +%s) - x))\n"
                   "v=$(sed -n 's/^#(x)//p' \"$log\" | tr a b)\n")
    text = shell_text(text)
    got = commands_in(text) - functions_in(text)
    want = {"nproc", "grep", "dpkg-query", "apt-get", "sed", "cmake", "clang", "cat", "python3",
            "mkdir", "dirname", "date", "tr"}
    check(got == want, f"lexer: got {sorted(got)}, want {sorted(want)}")


def test_every_command_is_installed(args, wd):
    need = needed()
    check({"cmake", "cpack", "apt-get", "file", "python3", "clang"} <= set(need),
          f"found the scripts' commands: {sorted(need)}")
    listed = listed_packages()
    unknown = sorted(f"{c} (used by {w})" for c, w in need.items()
                     if c not in PACKAGE_OF and c not in NOT_REQUIRED)
    check(not unknown, f"commands with no row in PACKAGE_OF (add it, and its package to "
                       f"scripts/debian-packages.txt): {unknown}")
    missing = sorted(f"{c} from {PACKAGE_OF[c]} (used by {w})" for c, w in need.items()
                     if c in PACKAGE_OF and PACKAGE_OF[c] not in listed | BASE and
                     c not in INSTALLED_BY_INSTALL_DEPS)
    check(not missing, f"not installed by scripts/install-deps on a fresh Debian 12 "
                       f"(add to scripts/debian-packages.txt): {missing}")


def owners(cmds):
    """command -> the package dpkg says ships it (usrmerge: /bin or /usr/bin),
    for those dpkg knows; one dpkg -S call."""
    paths = {f"{d}/{c}": c for c in cmds for d in ("/usr/bin", "/bin", "/usr/sbin", "/sbin")}
    r = subprocess.run(["dpkg", "-S", *paths], capture_output=True, text=True)
    out = {}
    for line in r.stdout.splitlines():
        pkg, _, path = line.partition(": ")
        if not pkg.startswith("diversion") and path in paths:
            out[paths[path]] = pkg.split(":")[0]
    return out


def test_mapping_matches_dpkg(args, wd):
    # PACKAGE_OF is only as good as its rows: where dpkg knows a command's
    # file, it must name the same package (metapackages aside).
    if not shutil.which("dpkg"):
        print("     no dpkg here: the mapping is not cross-checked")
        return
    cmds = [c for c in needed() if PACKAGE_OF.get(c) not in VIA_DEPENDS | {None}]
    found = owners(cmds)  # not installed here: not checked (a peer of a test that skips)
    checked, wrong = len(found), []
    for cmd, got in found.items():
        pkg = PACKAGE_OF[cmd]
        if got != pkg:
            wrong.append(f"{cmd}: dpkg says {got}, PACKAGE_OF says {pkg}")
    check(not wrong, f"PACKAGE_OF disagrees with dpkg: {wrong}")
    check(checked >= 10, f"cross-checked {checked} commands")
    print(f"     {checked} rows cross-checked with dpkg -S")


if __name__ == "__main__":
    main([test_lexer_finds_commands, test_every_command_is_installed, test_mapping_matches_dpkg])
