"""systemd/okrd.service: `systemd-analyze verify` is clean and
`systemd-analyze security --offline=true` rates its exposure 2.0 or lower
(DESIGN section 7). verify runs on a copy whose paths point at the built
binary, since /usr/bin/okrd exists only once the package is installed.

Every Exec*= program is the package's own binary or a file of an Essential
Debian package (a minimal Debian 12 has no /bin/kill: procps is not
Essential and the package does not depend on it), and ExecReload=, run the
way systemd runs it, makes a running okrd reload."""
import os
import re
import shlex
import shutil
import signal
import subprocess

from okrdtest import Daemon, check, main, skip

UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "systemd", "okrd.service")

# What an Exec*= line may run besides the package's own /usr/bin/okrd: files
# of Debian 12 packages with "Essential: yes" (present on every install,
# debootstrap --variant=minbase included), with the package that ships each.
# The package's Depends (from dpkg-shlibdeps) are libraries only.
ESSENTIAL_PROGRAMS = {"/bin/sh": "dash"}
OWN_PROGRAMS = {"/usr/bin/okrd"}


def analyze(*args):
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True, timeout=120)


def need_analyze():
    if not shutil.which("systemd-analyze"):
        skip("systemd-analyze is not installed (Debian package systemd)")


def test_security_exposure(args, wd):
    need_analyze()
    r = analyze("security", "--offline=true", UNIT)
    m = re.search(r"Overall exposure level for okrd\.service: (\d+\.\d+)", r.stdout + r.stderr)
    check(m, f"an exposure level: {r.stdout[-500:]} {r.stderr[-500:]}")
    level = float(m.group(1))
    print(f"     exposure level {level}")
    check(level <= 2.0, f"exposure {level} > 2.0:\n{r.stdout}")


def test_verify(args, wd):
    need_analyze()
    with open(UNIT) as f:
        text = f.read()
    text = text.replace("/usr/bin/okrd", os.path.abspath(args.okrd))
    unit = wd.file("okrd.service", text)
    # verify also checks that Documentation= man pages resolve: ours.
    man = os.path.join(os.path.dirname(UNIT), "..", "docs", "man")
    r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True,
                       timeout=120, env={**os.environ, "MANPATH": os.path.abspath(man)})
    problems = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
    check(r.returncode == 0 and not problems, f"verify is clean: {problems}")
    for key in ("Type=notify", "WatchdogSec=30s", "DynamicUser=yes", "StateDirectory=okrd",
                "ConfigurationDirectory=okrd", "RuntimeDirectory=okrd", "ExecReload=", "Restart=on-failure"):
        check(key in text, f"{key} in the unit")


def exec_lines(text):
    """(key, argv) of every Exec*= line, its prefixes ("-", "@", "+", ...) dropped."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^(Exec\w+)=(.*)$", line)
        if m:
            out.append((m.group(1), shlex.split(m.group(2).lstrip("-@:+!"))))
    return out


def owning_package(path):
    """The Debian package that ships PATH (dpkg -S), or None."""
    r = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        pkg, _, p = line.partition(": ")
        if not pkg.startswith("diversion") and p == path:
            return pkg
    return None


def test_exec_programs_are_always_installed(args, wd):
    with open(UNIT) as f:
        lines = exec_lines(f.read())
    check({k for k, _ in lines} >= {"ExecStart", "ExecReload"}, f"Exec lines: {lines}")
    for key, argv in lines:
        prog = argv[0]
        check(prog in OWN_PROGRAMS or prog in ESSENTIAL_PROGRAMS,
              f"{key}= runs {prog}, neither okrd nor a program of an Essential package "
              f"(a minimal Debian has no /bin/kill)")
        if prog in ESSENTIAL_PROGRAMS:
            check(os.access(prog, os.X_OK), f"{prog} exists here")
            if shutil.which("dpkg-query"):
                pkg = owning_package(prog)
                check(pkg == ESSENTIAL_PROGRAMS[prog], f"{prog} belongs to {pkg}, "
                                                       f"not {ESSENTIAL_PROGRAMS[prog]}")
                r = subprocess.run(["dpkg-query", "-W", "-f", "${Essential}", pkg],
                                   capture_output=True, text=True)
                check(r.stdout.strip() == "yes", f"{pkg} (ships {prog}) is Essential: {r.stdout!r}")


def systemd_substitute(argv, env):
    """systemd's variable substitution on a command line (systemd.service(5),
    replace_env_argv): a word "$FOO" becomes FOO's value split at
    whitespace; "${FOO}" anywhere is replaced by the value as one piece;
    "$$" is a literal "$"; any other "$" (e.g. "$FOO" inside a word) is left
    to the program."""
    out = []
    for w in argv:
        if w.startswith("$") and w[1:2] not in ("{", "$"):
            out.extend(env.get(w[1:], "").split())
            continue
        res, i = "", 0
        while i < len(w):
            if w.startswith("$$", i):
                res, i = res + "$", i + 2
            elif w.startswith("${", i) and "}" in w[i:]:
                j = w.index("}", i)
                res, i = res + env.get(w[i + 2:j], ""), j + 1
            else:
                res, i = res + w[i], i + 1
        out.append(res)
    return out


def test_exec_reload_reloads(args, wd):
    with open(UNIT) as f:
        argv = dict(exec_lines(f.read()))["ExecReload"]
    cfg = wd.config({"daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": ""},
                     "objectives": []})
    d = Daemon(args.okrd, cfg)
    try:
        d.wait_log("event=started")
        # systemd gives control processes MAINPID in their environment and
        # substitutes the command line from the same environment.
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "MAINPID": str(d.proc.pid)}
        cmd = systemd_substitute(argv, env)
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, f"ExecReload {cmd}: exit {r.returncode}: {r.stderr}")
        d.wait_log("event=reloaded")
        check(d.alive(), "still running after the reload")
        # Even with no kill(1) anywhere on PATH, as on a minimal Debian.
        empty = wd.file("empty/.keep", "")
        env["PATH"] = os.path.dirname(empty)
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, f"ExecReload with an empty PATH: exit {r.returncode}: {r.stderr}")
        d.wait_log("event=reloaded")
        code, _ = d.stop()
        check(code == 0, f"exit 0: {code}\n{d.log()}")
    finally:
        d.kill()


if __name__ == "__main__":
    main([test_security_exposure, test_verify, test_exec_programs_are_always_installed,
          test_exec_reload_reloads])
