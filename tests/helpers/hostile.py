"""The hostile-input corpus: what a careless or malicious user may drop into ``incoming``.

Every case in :data:`HOSTILE_CASES` must end in ``rejected/<id>/`` with the
original bytes kept and an ``errors.txt`` that contains ``case.phrase`` (a
piece of the sentence that names the field or the problem). The function-level
test (``test_request_hostile.py``) checks the file-content cases against
:func:`spoold.request.parse_request`; the daemon's end-to-end test drops all of
them, with :func:`create_case`, into a running daemon.

Cases need a site whose data root holds the night :data:`NIGHT` with the runs
:data:`RUNS` of the Crab and the IRF set ``eff_gh0.70_th0.70``; the default site
(data next to the spool) gets them from :func:`prepare_data` (or from
``lappana simulate DATA --night 2023-12-07 --runs 3``, which writes the same).

:data:`VALID_CASES` are odd-looking but valid (CRLF line ends, a UTF-8
byte-order mark, comments): they must be accepted.

Kinds
-----
``file``       the bytes are written under a temporary dot-name and renamed in.
``oversize``   a file larger than the site's size limit (built at creation).
``slow``       a file written in pieces over ~1 s while open (still being
               written); only its complete content has the error.
``directory``  a folder named like a request, with a request inside.
``symlink``    a symbolic link named like a request, pointing at /etc/passwd.
``fifo``       a named pipe named like a request.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "HostileCase",
    "HOSTILE_CASES",
    "VALID_CASES",
    "NIGHT",
    "RUNS",
    "GOOD",
    "FILE_KINDS",
    "create_case",
    "prepare_data",
]

#: The night and runs the corpus refers to (as ``lappana simulate``'s defaults).
NIGHT = "2023-12-07"
RUNS = (15864, 15865, 15866)

#: A valid request; most cases change one thing of it.
GOOD = (
    "source: Crab Nebula\n"
    f"night: {NIGHT}\n"
    "runs: [15864, 15865, 15866]\n"
    "start_from: dl2\n"
    "cuts: {gh_efficiency: 0.7, theta_containment: 0.7}\n"
    "products: [dl3, theta2]\n"
)

#: Kinds whose content is a file the parser reads (tested at function level).
FILE_KINDS = ("file", "oversize", "slow")

_TRAVERSAL = "../../../etc/passwd"
_SHELL = "x; rm -rf ~ && $(id) `id` | cat > /tmp/pwned"


@dataclass(frozen=True)
class HostileCase:
    """One hostile input.

    Attributes
    ----------
    name : str
        Short unique name (also the file name in incoming, plus ``.yaml``).
    kind : str
        ``file``, ``oversize``, ``slow``, ``directory``, ``symlink`` or ``fifo``.
    content : bytes
        The file's bytes (``file`` and ``slow``; ``oversize`` builds its own).
    phrase : str
        A piece of text that the errors must contain.
    """

    name: str
    kind: str
    content: bytes
    phrase: str

    def bytes_for(self, limit: int = 64 * 1024) -> bytes:
        """The bytes this case writes (for ``oversize``: just over ``limit``)."""
        if self.kind == "oversize":
            filler = b"# padding to make the request too large to read\n"
            body = GOOD.encode()
            return body + filler * ((limit - len(body)) // len(filler) + 2)
        return self.content


def _with(*lines: str, base: str = GOOD, drop: tuple[str, ...] = ()) -> bytes:
    """GOOD with lines whose key is in ``drop`` removed and ``lines`` added."""
    kept = [ln for ln in base.splitlines() if ln.split(":", 1)[0] not in drop]
    return ("\n".join(kept + list(lines)) + "\n").encode()


def _string_field_cases() -> list[HostileCase]:
    """Path traversal and shell metacharacters in every string field of a request."""
    fields = [
        # (case stem, key to replace, yaml line template, phrase)
        ("source", "source", "source: '{v}'", "'source' must be a source name"),
        ("night", "night", "night: '{v}'", "'night' must be a date"),
        ("start_from", "start_from", "start_from: '{v}'", "'start_from' is"),
        ("products", "products", "products: [dl3, '{v}']", "'products item 2' is"),
        ("notify", "notify", "notify: ['{v}']", "'notify item 1'"),
        ("output", "output", "output: '{v}'", "'output' must be an absolute folder path"),
        ("partition", "slurm", "slurm: {{partition: '{v}'}}", "'slurm.partition' must be"),
        ("account", "slurm", "slurm: {{account: '{v}'}}", "'slurm.account' must be"),
        ("qos", "slurm", "slurm: {{qos: '{v}'}}", "'slurm.qos' must be"),
        ("time", "slurm", "slurm: {{time: '{v}'}}", "'slurm.time' must be"),
        ("mem", "slurm", "slurm: {{mem: '{v}'}}", "'slurm.mem' must be"),
        ("extra", "slurm", "slurm: {{extra: ['{v}']}}", "'slurm.extra item 1' must be"),
    ]
    cases = []
    for stem, key, template, phrase in fields:
        for label, value in (("traversal", _TRAVERSAL), ("shell", _SHELL)):
            if stem == "output" and label == "traversal":
                value = "/tmp/../etc/cron.d"
            if stem == "extra" and label == "traversal":
                value = "--output=../../etc/passwd"
            if stem == "notify" and label == "traversal":
                value = "../../etc/passwd@example.org"
            cases.append(HostileCase(
                f"{label}-in-{stem}", "file",
                _with(template.format(v=value), drop=(key,)), phrase,
            ))
    return cases


_BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "source: *h\n"
)

HOSTILE_CASES: tuple[HostileCase, ...] = tuple([
    # --- YAML syntax errors, with line numbers
    HostileCase("syntax-unclosed-list", "file",
                b"source: Crab Nebula\nnight: 2023-12-07\nruns: [15864, 15865\nproducts: [dl3]\n",
                "line 4, column"),
    HostileCase("syntax-colon-in-value", "file",
                b"source: Crab: Nebula\nnight: 2023-12-07\n", "line 1, column 13"),
    HostileCase("syntax-bad-indentation", "file",
                b"source: Crab Nebula\n  night: 2023-12-07\n", "line 2, column 8"),
    HostileCase("syntax-unclosed-quote", "file",
                b"source: \"Crab Nebula\nnight: 2023-12-07\n", "the YAML is not valid"),
    HostileCase("tab-indentation", "file",
                b"source: Crab Nebula\nslurm:\n\ttime: '01:00:00'\n", "tab character"),
    HostileCase("two-documents", "file", (GOOD + "---\n" + GOOD).encode(), "more than one YAML document"),
    # --- misspelt keys, with a did-you-mean
    HostileCase("misspelt-source", "file", _with("sorce: Crab Nebula", drop=("source",)),
                "'sorce' is not a known key — did you mean 'source'?"),
    HostileCase("misspelt-night", "file", _with("nigth: 2023-12-07", drop=("night",)),
                "did you mean 'night'?"),
    HostileCase("misspelt-products", "file", _with("prodcts: [dl3]", drop=("products",)),
                "did you mean 'products'?"),
    HostileCase("misspelt-cut-key", "file",
                _with("cuts: {gh_effciency: 0.7, theta_containment: 0.7}", drop=("cuts",)),
                "'gh_effciency' is not a known key in 'cuts' — did you mean 'gh_efficiency'?"),
    HostileCase("misspelt-slurm-key", "file", _with("slurm: {partiton: short}"),
                "did you mean 'partition'?"),
    HostileCase("misspelt-product-value", "file", _with("products: [dl3, thetasq]", drop=("products",)),
                "did you mean 'theta2'?"),
    HostileCase("unknown-key", "file", _with("priority: urgent"), "'priority' is not a known key"),
    HostileCase("newline-in-key", "file", _with('"source\\nline 1: all is well": x'),
                "'source\\nline 1: all is well' is not a known key"),
    HostileCase("thousands-of-keys", "file",
                ("".join(f"key{i}: {i}\n" for i in range(3000)) + GOOD).encode(),
                "more problems; is this file a request?"),
    HostileCase("shell-in-key", "file", _with("$(id): 1"), "'$(id)' is not a known key"),
    # --- wrong types
    HostileCase("runs-is-text", "file", _with("runs: abc", drop=("runs",)),
                "'runs' must be a list of run numbers"),
    HostileCase("run-is-text", "file", _with("runs: [15864, abc]", drop=("runs",)),
                "'runs item 2' must be a run number"),
    HostileCase("run-negative", "file", _with("runs: [-15864]", drop=("runs",)),
                "'runs item 1' must be at least 1"),
    HostileCase("night-is-number", "file", _with("night: 20231207", drop=("night",)),
                "'night' must be a date written YYYY-MM-DD"),
    HostileCase("source-is-number", "file", _with("source: 42", drop=("source",)),
                "'source' must be a source name"),
    HostileCase("source-with-tab", "file", _with('source: "Crab\\tNebula"', drop=("source",)),
                "'source' must be a source name"),
    HostileCase("cuts-is-list", "file", _with("cuts: [0.7, 0.7]", drop=("cuts",)),
                "'cuts' must be a mapping"),
    HostileCase("slurm-is-list", "file", _with("slurm: [short, '01:00:00']"),
                "'slurm' must be a mapping"),
    HostileCase("products-is-text", "file", _with("products: dl3", drop=("products",)),
                "'products' must be a list"),
    HostileCase("top-level-list", "file", b"- source: Crab Nebula\n- night: 2023-12-07\n",
                "must be a mapping of keys to values"),
    HostileCase("top-level-text", "file", b"Crab Nebula please, last night\n",
                "must be a mapping of keys to values"),
    HostileCase("key-is-a-list", "file", b"? [source, night]\n: Crab\n", "keys must be plain names"),
    HostileCase("cuts-mixed", "file",
                _with("cuts: {gh_efficiency: 0.7, theta_cut_deg: 0.2}", drop=("cuts",)),
                "'cuts': give either gh_efficiency and theta_containment"),
    HostileCase("cut-out-of-range", "file",
                _with("cuts: {gh_efficiency: 1.5, theta_containment: 0.7}", drop=("cuts",)),
                "'cuts.gh_efficiency' must be at most 0.99"),
    HostileCase("ra-without-dec", "file", _with("ra: 83.6"), "'ra' is given without 'dec'"),
    # --- checks that need the site
    HostileCase("unknown-source", "file", _with("source: Crab Nebulla", drop=("source",)),
                "is not in the site's source catalogue — did you mean 'Crab Nebula'"),
    HostileCase("unknown-source-no-coordinates", "file",
                _with("source: My Secret Blazar", drop=("source",)),
                "give its coordinates with 'ra' and 'dec'"),
    HostileCase("night-after-tonight", "file", _with("night: 2099-12-07", drop=("night",)),
                "is later than tonight"),
    HostileCase("night-not-a-date", "file", _with("night: 2023-02-30", drop=("night",)),
                "'night' 2023-02-30 is not a real date"),
    HostileCase("night-before-lst1", "file", _with("night: 2001-01-01", drop=("night",)),
                "before LST-1's first observations"),
    HostileCase("runs-missing-from-catalogue", "file",
                _with("runs: [15864, 15999]", drop=("runs",)),
                "run 15999 is not in the run catalogue of the night of 2023-12-07"),
    HostileCase("night-without-catalogue", "file", _with("night: 2019-01-01", drop=("night",)),
                "there is no run catalogue for the night of 2019-01-01"),
    HostileCase("no-night-no-runs", "file", _with(drop=("night", "runs")), "'night' is missing"),
    HostileCase("dl2-from-dl2", "file", _with("products: [dl2, dl3]", drop=("products",)),
                "'products' asks for dl2 but 'start_from' is dl2"),
    HostileCase("no-such-irf-set", "file",
                _with("cuts: {gh_cut: 0.55, theta_cut_deg: 0.13}", drop=("cuts",)),
                "need the IRF set global_gh0.55_theta0.13"),
    HostileCase("output-outside-write-roots", "file", _with("output: /etc/astran"),
                "'output'"),
    HostileCase("bad-email", "file", _with("notify: [analyst@]"), "'notify item 1'"),
    # --- anchors, aliases and tags
    HostileCase("alias-bomb", "file", _BILLION_LAUGHS.encode(), "YAML aliases"),
    HostileCase("anchor-and-alias", "file", _with("runs: &r [15864]", "notify: *r", drop=("runs",)),
                "YAML anchors ('&r') are not allowed"),
    HostileCase("merge-key", "file",
                b"base: &b {source: Crab Nebula}\n<<: *b\nnight: 2023-12-07\n", "YAML aliases"),
    HostileCase("python-tag", "file",
                _with("source: !!python/object/apply:os.system ['id']", drop=("source",)),
                "YAML tags such as '!!python/object/apply:os.system' are not allowed"),
    HostileCase("local-tag", "file", _with("source: !secret Crab", drop=("source",)), "YAML tags"),
    # --- duplicates, nesting, numbers
    HostileCase("duplicate-key", "file", _with("source: Mrk 421"),
                "'source' is given twice (first on line 1)"),
    HostileCase("deep-nesting", "file",
                _with("slurm: " + "[" * 2000 + "]" * 2000), "nests lists and mappings more than"),
    HostileCase("deep-mappings", "file",
                _with("slurm: " + "{a: " * 200 + "1" + "}" * 200), "nests lists and mappings more than"),
    HostileCase("huge-run-number", "file", _with("runs: [100000000000000000000000000000]", drop=("runs",)),
                "'runs item 1' must be at most 9999999"),
    HostileCase("endless-number", "file", _with("runs: [" + "9" * 5000 + "]", drop=("runs",)),
                "'runs item 1' is a number too long to read"),
    HostileCase("nan-cut", "file",
                _with("cuts: {gh_efficiency: .nan, theta_containment: 0.7}", drop=("cuts",)),
                "'cuts.gh_efficiency' is .nan, which is not a finite number"),
    HostileCase("inf-coordinate", "file", _with("ra: .inf", "dec: 22.0"),
                "'ra' is .inf, which is not a finite number"),
    HostileCase("huge-float", "file", _with("dec: 1.0e+999", "ra: 83.6"),
                "which is not a finite number"),
    # --- sizes and encodings
    HostileCase("oversize", "oversize", b"", "more than the limit of"),
    HostileCase("empty-file", "file", b"", "The request is empty"),
    HostileCase("only-comments", "file", b"# source: Crab Nebula\n\n# night: 2023-12-07\n",
                "The request is empty"),
    HostileCase("only-whitespace", "file", b"  \n\n   \n", "The request is empty"),
    HostileCase("binary-zeros", "file", bytes(range(256)) * 4, "is a binary file"),
    HostileCase("png-image", "file", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64,
                "is a binary file"),
    HostileCase("latin-1", "file", "source: Crab Nébula\nnight: 2023-12-07\n".encode("latin-1"),
                "is not UTF-8 text: byte 0xe9 at byte offset 14"),
    HostileCase("utf-16-with-bom", "file", GOOD.encode("utf-16"), "UTF-16"),
    HostileCase("utf-32-with-bom", "file", GOOD.encode("utf-32"), "UTF-32"),
    HostileCase("control-character", "file", _with("source: Crab\x07Nebula", drop=("source",)),
                "control character"),
    # --- a file still being written: only the complete file has the error
    HostileCase("still-being-written", "slow",
                (GOOD + "notfy: [analyst@example.org]\n").encode(),
                "'notfy' is not a known key — did you mean 'notify'?"),
    # --- not regular files
    HostileCase("directory", "directory", GOOD.encode(), "is a folder, not a request file"),
    HostileCase("symlink", "symlink", b"", "is a symbolic link"),
    HostileCase("fifo", "fifo", b"", "not a regular file"),
    *_string_field_cases(),
])

#: Odd but valid requests: they must be accepted.
VALID_CASES: tuple[tuple[str, bytes], ...] = (
    ("crlf-line-ends", GOOD.replace("\n", "\r\n").encode()),
    ("utf-8-bom", b"\xef\xbb\xbf" + GOOD.encode()),
    ("comments-and-blank-lines", ("# my request\n\n" + GOOD.replace("\n", "   # ok\n", 1) + "\n# end\n").encode()),
    ("flow-style", b"{source: crab nebula, night: '2023-12-07', runs: [15864], start_from: dl2, products: [dl3]}\n"),
    ("catalogue-alias-and-global-cut",
     _with("source: crab", "cuts: {gh_cut: 0.7, theta_cut_deg: 0.2}", drop=("cuts", "source"))),
)

_names = [c.name for c in HOSTILE_CASES]
assert len(_names) == len(set(_names)), "hostile case names must be unique"


def prepare_data(data_root: Path, *, night: str = NIGHT, runs: tuple[int, ...] = RUNS) -> None:
    """Give a data root what the corpus expects: the night's run catalogue and two IRF sets.

    Existing files (e.g. from ``lappana simulate``) are kept.
    """
    folder = Path(data_root) / "monitoring" / "RunCatalog"
    folder.mkdir(parents=True, exist_ok=True)
    catalogue = folder / f"RunCatalog_{night.replace('-', '')}.ecsv"
    if not catalogue.exists():
        rows = "".join(f"{run} Crab 83.633 22.014\n" for run in runs)
        catalogue.write_text(
            "# %ECSV 1.0\n# ---\n# datatype:\n"
            "# - {name: run_id, datatype: int64}\n# - {name: source_name, datatype: string}\n"
            "# - {name: source_ra, datatype: float64}\n# - {name: source_dec, datatype: float64}\n"
            "# schema: astropy-2.0\nrun_id source_name source_ra source_dec\n" + rows
        )
    for irf_set in ("eff_gh0.70_th0.70", "global_gh0.70_theta0.20"):
        (Path(data_root) / "IRF" / irf_set).mkdir(parents=True, exist_ok=True)


def _write_atomically(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.part")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def _write_slowly(path: Path, data: bytes, pieces: int, interval: float) -> None:
    step = max(1, -(-len(data) // pieces))
    with open(path, "wb") as handle:
        for start in range(0, len(data), step):
            handle.write(data[start:start + step])
            handle.flush()
            time.sleep(interval)


def create_case(
    case: HostileCase,
    incoming: Path,
    *,
    limit: int = 64 * 1024,
    pieces: int = 10,
    interval: float = 0.1,
) -> threading.Thread | None:
    """Create ``case`` in ``incoming`` as ``<case.name>.yaml``.

    Parameters
    ----------
    case : HostileCase
    incoming : Path
        The spool's incoming folder.
    limit : int
        The site's request size limit (for ``oversize``).
    pieces, interval : int, float
        A ``slow`` case is written in ``pieces`` writes ``interval`` seconds apart
        (keep ``interval`` below the daemon's settle time).

    Returns
    -------
    threading.Thread or None
        For ``slow``: the writing thread (join it); otherwise None.
    """
    path = Path(incoming) / f"{case.name}.yaml"
    if case.kind in ("file", "oversize"):
        _write_atomically(path, case.bytes_for(limit))
    elif case.kind == "slow":
        thread = threading.Thread(
            target=_write_slowly, args=(path, case.content, pieces, interval), daemon=True
        )
        thread.start()
        return thread
    elif case.kind == "directory":
        path.mkdir()
        (path / "request.yaml").write_bytes(case.content)
    elif case.kind == "symlink":
        path.symlink_to("/etc/passwd")
    elif case.kind == "fifo":
        os.mkfifo(path)
    else:
        raise ValueError(f"unknown kind {case.kind!r}")
    return None


def prepared_site(root: Path):
    """The embedded default site over a data tree :func:`prepare_data` made under ``root``.

    Its lstchain models (and so the IRF sets beside them, which requests starting from
    DL1 use) are looked for in ``root/models``, where there are none: whether this
    machine's ``scripts/setup-lstchain`` ran must not change what a request test sees.
    """
    import dataclasses

    from spoold.site import load_site

    prepare_data(Path(root) / "data")
    site = load_site(None, spool_root=Path(root) / "spool")
    return dataclasses.replace(site, lstchain=dataclasses.replace(site.lstchain, models=Path(root) / "models"))
