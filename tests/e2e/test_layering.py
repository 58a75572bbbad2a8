"""The folders depend on each other only as DESIGN section 1 lets the data
flow: sources -> store -> okr engine -> alerts -> webhooks, with api/ and the
CLI reading the store and the engine's output. Checked on the source itself:
every quoted #include of every module folder, and every okrd_<module> a
module links in CMakeLists.txt, must name a folder (or file) the table below
allows; the libraries DESIGN gives to one folder (SQL, curl, the HTTP server)
appear nowhere else, and okr/ includes no I/O header.

The table is the code's reality, kept as tight as DESIGN allows: loosen it
only with a reason DESIGN gives. tests/ and bench/ may include anything."""
import glob
import os
import re

from okrdtest import check, main

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# folder -> what its files may include besides their own folder: a folder
# name allows all of it, "folder/file.h" only that header.
ALLOWED = {
    "common": set(),
    "config": {"common"},
    "okr": {"common", "config"},                  # pure math over validated config
    "store": {"common"},                          # knows no config layout, no key result
    "connectors": {"common", "config", "store"},  # "nothing after the store"
    # The engine's output (okr/okr_snapshot.h, okr/okr_view.h) and the outbox;
    # sending goes through the shared HTTP client, which lives in connectors/.
    "alerts": {"common", "config", "okr", "store", "connectors/httpc.h"},
    "api": {"common", "config", "okr", "store"},  # reads the store and the engine's output
    "daemon": {"common", "config", "okr", "store", "connectors", "alerts", "api"},
}

# <header> prefix -> the only folders that may include it (DESIGN section 1:
# only store/ speaks SQL; the libcurl-multi client is connectors/; the local
# HTTP server is api/).
LIBRARY_OWNERS = {
    "sqlite3.h": {"store"},
    "libpq-fe.h": {"store"},
    "curl/": {"connectors"},
    "microhttpd.h": {"api"},
}

# okr/ "knows no I/O" (DESIGN section 1).
IO_HEADERS = ("stdio.h", "unistd.h", "fcntl.h", "dirent.h", "sys/", "uv.h", "curl/",
              "sqlite3.h", "microhttpd.h")

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]', re.M)


def sources(folder):
    return sorted(glob.glob(os.path.join(ROOT, folder, "*.[ch]")))


def includes(path):
    with open(path) as f:
        return INCLUDE.findall(f.read())


def resolve(path, name):
    """The repository path a quoted include names, as the compiler finds it:
    beside the including file first, then from the root (the one -I)."""
    for base in (os.path.dirname(path), ROOT):
        p = os.path.normpath(os.path.join(base, name))
        if os.path.exists(p):
            return os.path.relpath(p, ROOT)
    return None


def allowed(folder, target):
    top = target.split("/", 1)[0]
    return top == folder or top in ALLOWED[folder] or target in ALLOWED[folder]


def violations_in(folder):
    bad = []
    for path in sources(folder):
        rel = os.path.relpath(path, ROOT)
        for kind, name in includes(path):
            if kind != '"':
                continue
            target = resolve(path, name)
            if target is None:
                bad.append(f'{rel}: #include "{name}" names no file in the repository')
            elif "/" not in target:
                bad.append(f'{rel}: #include "{name}" is outside every module folder')
            elif not allowed(folder, target):
                bad.append(f'{rel}: #include "{name}" ({target}): {folder}/ may not depend '
                           f'on {target.split("/", 1)[0]}/')
    return bad


def test_table_covers_every_module(args, wd):
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        cmake = f.read()
    m = re.search(r"set\(okrd_modules ([a-z ]+)\)", cmake)
    check(m, "CMakeLists.txt lists okrd_modules")
    modules = set(m.group(1).split()) | {"daemon"}
    check(modules == set(ALLOWED), f"the table names the modules {sorted(ALLOWED)}, "
          f"CMakeLists.txt {sorted(modules)}")
    for folder in ALLOWED:
        check(sources(folder), f"{folder}/ has sources")


def test_includes_follow_the_data_flow(args, wd):
    bad = []
    n = 0
    for folder in ALLOWED:
        n += len(sources(folder))
        bad += violations_in(folder)
    check(n > 100, f"read the sources ({n} files)")
    check(not bad, "includes against DESIGN section 1:\n  " + "\n  ".join(bad))


def test_links_follow_the_data_flow(args, wd):
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        cmake = f.read()
    deps = dict(re.findall(r"set\(okrd_deps_(\w+)\s+([^)]*)\)", cmake))
    check(len(deps) >= 7, f"found the okrd_deps_<module> lines: {sorted(deps)}")
    bad = []
    for module, libs in deps.items():
        for lib in re.findall(r"\bokrd_(\w+)", libs):
            if lib != module and lib not in ALLOWED[module] and not any(
                    a.startswith(lib + "/") for a in ALLOWED[module]):
                bad.append(f"okrd_{module} links okrd_{lib}")
    check(not bad, "CMakeLists.txt links against DESIGN section 1: " + ", ".join(bad))


def test_libraries_stay_in_their_folder(args, wd):
    bad = []
    for folder in ALLOWED:
        for path in sources(folder):
            for kind, name in includes(path):
                if kind != "<":
                    continue
                for prefix, owners in LIBRARY_OWNERS.items():
                    if name.startswith(prefix) and folder not in owners:
                        bad.append(f"{os.path.relpath(path, ROOT)}: <{name}> belongs to "
                                   f"{'/'.join(sorted(owners))}/")
                if folder == "okr" and name.startswith(IO_HEADERS):
                    bad.append(f"{os.path.relpath(path, ROOT)}: <{name}>: okr/ knows no I/O")
    check(not bad, "library headers:\n  " + "\n  ".join(bad))


if __name__ == "__main__":
    main([test_table_covers_every_module, test_includes_follow_the_data_flow,
          test_links_follow_the_data_flow, test_libraries_stay_in_their_folder])
