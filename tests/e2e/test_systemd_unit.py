"""systemd/okrd.service: `systemd-analyze verify` is clean and
`systemd-analyze security --offline=true` rates its exposure 2.0 or lower
(DESIGN section 7). verify runs on a copy whose paths point at the built
binary, since /usr/bin/okrd exists only once the package is installed."""
import os
import re
import shutil
import subprocess

from okrdtest import check, main, skip

UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "systemd", "okrd.service")


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


if __name__ == "__main__":
    main([test_security_exposure, test_verify])
