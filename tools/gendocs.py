"""Run every example of the documentation and write (or check) its output.

    python tools/gendocs.py            # rewrite the outputs of every page in place
    python tools/gendocs.py --check    # exit 1 and show a diff when a page's output is stale
    python tools/gendocs.py docs/commands/check.md README.md   # some pages only

What counts as an example:

* a ```` ```console ```` block: each ``$ command`` line (``\\`` continues it) is run, and the lines
  after it, up to the next ``$``, are its output. ``chipfit ...`` runs in this process (the same
  code path as the installed command, without a fresh interpreter per line); anything else runs
  in bash. Every page runs in a fresh temporary folder holding a link to ``examples/``, so files
  one example writes are there for the next, and nothing is written into the repository;
* a ```` ```pycon ```` block: each ``>>> `` statement (``... `` continues it) is run as the
  interactive interpreter would, and what it prints is its output. The page's blocks share one
  namespace;
* a ```` ```yaml ```` block whose first line is ``# NAME.yaml`` is written to that file first, so
  the examples after it can read it (a scenario, a chip file).

An HTML comment right before a block changes how it is run:

* ``<!-- example: numbers vary -->``: the output depends on the machine (timings): numbers are
  masked when checking;
* ``<!-- example: output varies -->``: the output describes the machine it ran on (a probe, a
  measurement): checking only runs it and requires that it fails nowhere;
* ``<!-- example: setup COMMAND -->``: run COMMAND (bash) first, unseen (e.g. to make a file);
* ``<!-- example: server -->``: ``chipfit serve`` runs in the background on a free port for the
  page's remaining blocks; ``127.0.0.1:8000`` in commands reaches it;
* ``<!-- example: stop after N s -->``: each command is interrupted (Ctrl+C) after N seconds, for
  a command that runs until stopped (``chipfit serve``, on a free port shown as 8000).

The import graph of ``docs/architecture.md`` is regenerated too.
"""

from __future__ import annotations

import argparse
import code
import contextlib
import difflib
import io
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 100
PAGES = sorted([ROOT / "README.md", ROOT / "README.zh-CN.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"^```(console|pycon|yaml)\s*$")
DIRECTIVE = re.compile(r"<!--\s*example:\s*(.*?)\s*-->")


@dataclass
class Block:
    kind: str                  # console or pycon
    start: int                 # line index of the opening fence
    end: int                   # line index of the closing fence
    lines: list[str]           # the block's body
    directives: list[str] = field(default_factory=list)


def blocks(text: str) -> list[Block]:
    lines = text.split("\n")
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        directives = []
        k = i - 1
        while k >= 0 and (DIRECTIVE.search(lines[k]) or not lines[k].strip()):
            found = DIRECTIVE.search(lines[k])
            if found:
                text = found.group(1)
                directives[0:0] = [text] if text.startswith("setup ") else [d.strip() for d in text.split(",")]
            k -= 1
        out.append(Block(m.group(1), i, j, lines[i + 1:j], directives))
        i = j + 1
    return out


# -- console blocks ------------------------------------------------------------------------------
def commands(body: list[str]) -> list[tuple[str, list[str]]]:
    """[(command, output lines)] of a console block."""
    out: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(body):
        line = body[i]
        if line.startswith("$ "):
            cmd = line[2:]
            while cmd.endswith("\\") and i + 1 < len(body):
                i += 1
                cmd = cmd[:-1] + "\n" + body[i]
            out.append((cmd, []))
        elif out:
            out[-1][1].append(line)
        i += 1
    return out


class Session:
    """One page's examples: a temporary folder, an environment, maybe a server."""

    def __init__(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="chipfit-docs-")
        self.dir = Path(self.tmp.name)
        for name in ("examples", "benchmarks"):
            (self.dir / name).symlink_to(ROOT / name)
        (self.dir / "chips").mkdir()
        self.env = dict(os.environ, COLUMNS=str(WIDTH), CHIPFIT_CHIPS_DIR=str(self.dir / "chips"), HOME=str(self.dir),
                        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                        PYTHONWARNINGS="ignore", NO_COLOR="1", TERM="dumb")
        self.env.pop("CHIPFIT_DEBUG", None)
        self.namespace: dict = {}
        self.server: subprocess.Popen | None = None
        self.port = 8000

    def close(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=10)
        self.tmp.cleanup()

    def start_server(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = subprocess.Popen([sys.executable, "-m", "chipfit", "serve", "--port", str(self.port)],
                                       cwd=self.dir, env=self.env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.2)
        raise RuntimeError("chipfit serve did not start")

    def shell(self, cmd: str) -> str:
        cmd = cmd.replace("127.0.0.1:8000", f"127.0.0.1:{self.port}")
        p = subprocess.run(["bash", "-c", cmd], cwd=self.dir, env=self.env, capture_output=True, text=True,
                           timeout=600)
        return (p.stdout + p.stderr).replace(f"127.0.0.1:{self.port}", "127.0.0.1:8000")

    def chipfit(self, cmd: str) -> str:
        """``chipfit ARGS`` in this process, in the page's folder and environment."""
        from chipfit.cli import run

        args = shlex.split(cmd)[1:]
        out = io.StringIO()
        old_env, old_cwd = dict(os.environ), os.getcwd()
        os.environ.clear()
        os.environ.update(self.env)
        os.chdir(self.dir)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                run(args)
        finally:
            os.chdir(old_cwd)
            os.environ.clear()
            os.environ.update(old_env)
        return out.getvalue()

    def interrupted(self, cmd: str, seconds: float) -> str:
        """The output of ``cmd`` run for ``seconds`` and then interrupted, as Ctrl+C would."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        real = f"{cmd} --port {port}" if cmd.startswith("chipfit serve") and "--port" not in cmd else cmd
        real = real.replace("chipfit ", f"{shlex.quote(sys.executable)} -m chipfit ", 1)
        text = self.shell(f"timeout -s INT {seconds} {real}").replace(f":{port}", ":8000")
        lines = text.split("\n")   # up to the server's start: the shutdown lines' order varies
        end = next((i for i, ln in enumerate(lines) if "CTRL+C to quit" in ln), len(lines) - 1)
        return "\n".join(lines[:end + 1])

    def run(self, cmd: str) -> str:
        simple = cmd.startswith("chipfit ") and not any(c in cmd for c in "|><;&\n$`")
        text = self.chipfit(cmd) if simple else self.shell(cmd)
        return text.replace(str(self.dir), "/tmp/work")

    def python(self, source: str) -> str:
        """What the interactive interpreter prints for ``source`` (one statement)."""
        out = io.StringIO()
        old_cwd = os.getcwd()
        os.chdir(self.dir)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                compiled = code.compile_command(source, "<docs>", "single")
                if compiled is None:
                    raise SyntaxError(f"incomplete statement: {source!r}")
                try:
                    exec(compiled, self.namespace)
                except Exception as exc:  # shown as the interpreter shows it: the last line
                    print(f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
                          .removeprefix("builtins."))
        finally:
            os.chdir(old_cwd)
        return out.getvalue()


def _clean(text: str) -> list[str]:
    lines = [ln.rstrip() for ln in text.rstrip("\n").split("\n")]
    return lines if lines != [""] else []


def render_console(block: Block, s: Session) -> list[str]:
    stop = next((float(m.group(1)) for d in block.directives
                 if (m := re.fullmatch(r"stop after ([\d.]+) s", d))), None)
    body = []
    for cmd, _ in commands(block.lines):
        body.append("$ " + cmd.replace("\n", "\\\n"))
        body += _clean(s.run(cmd) if stop is None else s.interrupted(cmd, stop))
    return body


def render_pycon(block: Block, s: Session) -> list[str]:
    body: list[str] = []
    statements: list[list[str]] = []
    for line in block.lines:
        if line.startswith(">>> "):
            statements.append([line])
        elif line.startswith("... ") or line == "...":
            statements[-1].append(line)
    for st in statements:
        source = "\n".join(ln[4:] for ln in st)
        if len(st) > 1:
            source += "\n"
        body += st
        body += _clean(s.python(source))
    return body


def _masked(lines: list[str]) -> list[str]:
    return [re.sub(r"\s+", " ", re.sub(r"\d[\d.,]*", "N", ln)).strip() for ln in lines]


def process(page: Path, check: bool = False) -> tuple[str, str]:
    """(current text, text with every example rerun; with ``check``, a block whose output
    describes the machine keeps its text once it ran without failing)."""
    text = page.read_text(encoding="utf-8")
    lines = text.split("\n")
    s = Session()
    try:
        new = list(lines)
        rendered = []   # run in page order, replaced from the end (line numbers stay valid)
        for b in blocks(text):
            for d in b.directives:
                if d.startswith("setup "):
                    s.shell(d[len("setup "):])
                elif d == "server" and s.server is None:
                    s.start_server()
            if b.kind == "yaml":
                name = b.lines[0].removeprefix("#").strip() if b.lines else ""
                if b.lines and b.lines[0].startswith("# ") and name.endswith((".yaml", ".yml")) and "/" not in name:
                    (s.dir / name).write_text("\n".join(b.lines[1:]) + "\n", encoding="utf-8")
                continue
            body = render_console(b, s) if b.kind == "console" else render_pycon(b, s)
            if "numbers vary" in b.directives and _masked(body) == _masked(b.lines):
                body = b.lines
            if "output varies" in b.directives and check:
                failed = [ln for ln in body if "internal error" in ln or "Traceback" in ln
                          or (ln.startswith("chipfit: ") and not ln.startswith("chipfit: warning"))]
                if failed:
                    raise RuntimeError(f"{page.name}: an example failed: {failed[0]}")
                body = b.lines
            rendered.append((b, body))
        for b, body in reversed(rendered):
            new[b.start + 1:b.end] = body
    finally:
        s.close()
    out = "\n".join(new)
    if page.name == "architecture.md":
        out = architecture(out)
    return text, out


def architecture(text: str) -> str:
    """The page with its Mermaid import graph regenerated from the code."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_architecture import ALL_IMPORTS

    from chipfit.core.layers import mermaid

    graph = mermaid(ALL_IMPORTS)
    return re.sub(r"```mermaid\nflowchart TD\n.*?```", lambda _: graph, text, count=1, flags=re.S)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pages", nargs="*", type=Path)
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page is stale")
    args = ap.parse_args(argv)
    stale = 0
    for page in args.pages or PAGES:
        page = page.resolve()
        old, new = process(page, check=args.check)
        if old == new:
            continue
        stale += 1
        if args.check:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                       str(page.relative_to(ROOT)), "rerun"))
        else:
            page.write_text(new, encoding="utf-8")
            print(f"updated {page.relative_to(ROOT)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
