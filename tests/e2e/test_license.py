"""LICENSE holds the whole MIT license with the project's copyright line,
and the install (what the Debian package is made of: cpack packs `cmake
--install`) puts it, whole, into share/doc/okrd/copyright, Debian's
machine-readable copyright file. scripts/package checks the built .deb."""
import glob
import os
import subprocess

from okrdtest import check, main

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

MIT_SENTENCES = [
    "MIT License",
    "Copyright (c) 2026 the okrd authors",
    "Permission is hereby granted, free of charge, to any person obtaining a copy",
    "to use, copy, modify, merge, publish, distribute, sublicense, and/or sell",
    "The above copyright notice and this permission notice shall be included in all",
    'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR',
    "OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE",
]


def license_text():
    with open(os.path.join(ROOT, "LICENSE")) as f:
        return f.read()


def test_license_is_mit(args, wd):
    text = license_text()
    for s in MIT_SENTENCES:
        check(s in text, f"LICENSE has {s!r}")


def test_installed_copyright_carries_license(args, wd):
    build = os.path.dirname(os.path.abspath(args.okrd))
    dest = os.path.join(wd.path, "root")
    r = subprocess.run(["cmake", "--install", build], env={**os.environ, "DESTDIR": dest},
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f"cmake --install: {r.stdout}{r.stderr}")
    found = glob.glob(os.path.join(dest, "**", "share", "doc", "okrd", "copyright"), recursive=True)
    check(len(found) == 1, f"one share/doc/okrd/copyright installed: {found}")
    with open(found[0]) as f:
        copyright = f.read()
    check(copyright.startswith("Format: https://www.debian.org/doc/packaging-manuals/"
                               "copyright-format/1.0/\n"), "machine-readable (DEP-5)")
    check("Copyright: 2026 the okrd authors" in copyright and "MIT" in copyright,
          f"names the copyright and the MIT license:\n{copyright}")
    # the stand-alone License paragraph, de-indented, is LICENSE itself
    para = copyright.split("\n\nLicense: Expat\n", 1)
    check(len(para) == 2, "a License: Expat paragraph")
    lines = [l[1:] for l in para[1].rstrip("\n").split("\n")]
    body = "\n".join("" if l == "." else l for l in lines) + "\n"
    check(body == license_text(), f"the whole of LICENSE:\n{body}")


if __name__ == "__main__":
    main([test_license_is_mit, test_installed_copyright_carries_license])
