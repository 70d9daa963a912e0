"""Reading the shell blocks of a Markdown document, running them as a reader would, and comparing what
they print with what the document shows.

The conventions a document follows (tests/docs/test_executable_docs.py says which documents run):

- A block fenced as ```sh, ```bash, ```shell or ```console is a command the reader is told to run.
  The blocks of a document run in order, each with POSIX `sh` (dash here) under `set -e`, in one
  folder that stands for a fresh checkout; shell variables set by one block are there in the next,
  as in one terminal. In a ```console block, lines starting with `$ ` are the commands and the other
  lines their output.
- `<!-- illustrative -->` on the line before a shell block marks it as not to be run (commands for
  another machine, a production install, a cheat sheet); every other shell block must be run.
- A block of output (```text, ```json or a bare ```) that follows a shell block with nothing but
  blank lines in between is what that block prints. It is compared with the real standard output:
  JSON structurally (key order and layout aside), anything else line by line (trailing blanks
  aside). Values that differ on every run match by their shape: random strings (a mix of upper
  case, lower case and digits of 16 characters or more, such as ids, secrets, codes and tokens),
  lower-case hexadecimal of 8 characters or more with a digit and a letter, whole numbers from
  10^9 (timestamps) and dates with a time. The same shown value must stand for the same real
  value throughout a document. `...` stands for any text within a line.
- The documents are written for a server at http://127.0.0.1:8000; the test serves on a free port
  and writes its address wherever that one appears, in commands and in output.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.server import free_port, stop_process, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SHELL_LANGUAGES = ("sh", "bash", "shell", "console")
OUTPUT_LANGUAGES = ("text", "json", "")
ILLUSTRATIVE = "<!-- illustrative -->"
DOC_ADDRESS = "127.0.0.1:8000"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`]*)$")


@dataclass(frozen=True)
class Block:
    doc: str
    line: int
    language: str
    text: str
    is_illustrative: bool
    #: The output block right after it, if any.
    output: str | None = None

    @property
    def is_shell(self) -> bool:
        return self.language in SHELL_LANGUAGES

    @property
    def commands(self) -> str:
        if self.language != "console":
            return self.text
        lines, is_continued = [], False
        for line in self.text.splitlines():
            if line.startswith("$ ") or is_continued:
                command = line[2:] if line.startswith("$ ") and not is_continued else line
                lines.append(command)
                is_continued = command.endswith("\\")
        return "\n".join(lines) + "\n"

    @property
    def expected_output(self) -> str | None:
        if self.language != "console":
            return self.output
        printed, is_continued = [], False
        for line in self.text.splitlines():
            if line.startswith("$ ") or is_continued:
                is_continued = line.endswith("\\")
                continue
            printed.append(line)
        return "\n".join(printed) if printed else None

    def where(self) -> str:
        return f"{self.doc}:{self.line}"


def read_blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, with its marker and the output block after it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    raw: list[tuple[int, int, str, str, bool]] = []  # start line, end line, language, text, illustrative
    index = 0
    while index < len(lines):
        opened = _FENCE.match(lines[index])
        if not opened:
            index += 1
            continue
        indent, fence = len(opened["indent"]), opened["fence"]
        language = opened["info"].strip().split(" ")[0].lower()
        previous = next((lines[i].strip() for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        body: list[str] = []
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence:
            text = lines[end]
            body.append(text[indent:] if text[:indent].strip() == "" else text.lstrip())
            end += 1
        raw.append((index + 1, end + 1, language, "\n".join(body) + "\n", previous == ILLUSTRATIVE))
        index = end + 1
    blocks: list[Block] = []
    for position, (start, end, language, text, illustrative) in enumerate(raw):
        output = None
        if language in SHELL_LANGUAGES and position + 1 < len(raw):
            next_start, _, next_language, next_text, _ = raw[position + 1]
            gap = lines[end : next_start - 1]
            if next_language in OUTPUT_LANGUAGES and all(not line.strip() for line in gap):
                output = next_text
        blocks.append(Block(name, start, language, text, illustrative, output))
    return blocks


def shell_blocks(path: Path) -> list[Block]:
    return [block for block in read_blocks(path) if block.is_shell]


# -- a terminal in a fresh checkout, and the server it talks to ------------------------------------


@dataclass
class DocSession:
    """A folder standing for a fresh checkout, `gatepass serve` running in it, and the shell state."""

    folder: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    server: subprocess.Popen[bytes] | None = None
    ran: list[Block] = field(default_factory=list)
    #: Each random value shown in the document, and the real one it stood for.
    bindings: dict[str, str] = field(default_factory=dict)
    initial_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DocSession:
        (self.folder / ".venv").symlink_to(VENV_BIN.parent)
        home = self.folder / "home"
        home.mkdir()
        self.env = {
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            # No issuer: the development issuer follows the port served (as after `make run`).
            "GATEPASS_SERVER_PORT": str(self.port),
        }
        self.initial_env = dict(self.env)
        with (self.folder / "server.log").open("ab") as log:
            self.server = subprocess.Popen(
                [str(VENV_BIN / "gatepass"), "serve"], cwd=self.folder, env=self.env, stdout=log, stderr=log
            )
        wait_until_healthy(self.url, self.server, self.folder / "server.log")
        return self

    def new_terminal(self) -> None:
        """Another document: a new shell, whose shown values stand for new real ones (same server)."""
        self.env = dict(self.initial_env)
        self.bindings = {}

    def stop(self) -> None:
        if self.server is not None:
            stop_process(self.server)

    def log(self) -> str:
        return (self.folder / "server.log").read_text(errors="replace")[-3000:]

    def localise(self, text: str) -> str:
        """The document's server address, made this server's."""
        return text.replace(DOC_ADDRESS, f"127.0.0.1:{self.port}").replace(
            DOC_ADDRESS.replace(":", "%3A"), f"127.0.0.1%3A{self.port}"
        )

    def run(self, block: Block, commands: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a block (or its commands with placeholders filled in) and keep the variables it sets."""
        env_file = self.folder / ".block-env"
        script = f"set -ea\n{self.localise(commands if commands is not None else block.commands)}\n"
        script += 'env -0 > "$DOCS_TEST_ENV_FILE"\n'
        result = subprocess.run(
            ["sh", "-c", script],
            cwd=self.folder,
            env={**self.env, "DOCS_TEST_ENV_FILE": str(env_file)},
            capture_output=True,
            text=True,
            timeout=180,
        )
        self.ran.append(block)
        if result.returncode != 0:
            raise AssertionError(
                f"{block.where()}: the documented command failed with exit code {result.returncode}\n"
                f"--- commands\n{block.commands}--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}\n"
                f"--- server log\n{self.log()}"
            )
        carried = env_file.read_text(encoding="utf-8").split("\0")
        self.env = dict(entry.split("=", 1) for entry in carried if "=" in entry)
        self.env.pop("DOCS_TEST_ENV_FILE", None)
        if block.expected_output is not None:
            check_output(block, self.localise(block.expected_output), result.stdout, self.bindings)
        return result


# -- comparing output -----------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z0-9_-]+")
_DATETIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")


def _is_random(word: str) -> bool:
    return (
        len(word) >= 16
        and any(c.isdigit() for c in word)
        and any(c.islower() for c in word)
        and any(c.isupper() for c in word)
    )


def _is_hex(word: str) -> bool:
    return (
        len(word) >= 8
        and re.fullmatch(r"[0-9a-f]+", word) is not None
        and any(c.isdigit() for c in word)
        and any(c.isalpha() for c in word)
    )


def _pattern(shown: str) -> tuple[re.Pattern[str], list[str]]:
    """A regular expression for one shown line; the shown random values it binds, in order."""
    parts: list[str] = []
    bound: list[str] = []
    position = 0
    tokens = re.compile(rf"\.\.\.|{_DATETIME.pattern}|{_WORD.pattern}")
    for found in tokens.finditer(shown):
        parts.append(re.escape(shown[position : found.start()]))
        text = found.group()
        if text == "...":
            parts.append(".*?")
        elif _DATETIME.fullmatch(text):
            parts.append(_DATETIME.pattern)
        elif _is_random(text):
            parts.append("([A-Za-z0-9_-]+)")
            bound.append(text)
        elif _is_hex(text):
            parts.append("([0-9a-f]+)")
            bound.append(text)
        else:
            parts.append(re.escape(text))
        position = found.end()
    parts.append(re.escape(shown[position:]))
    return re.compile("".join(parts)), bound


def _match_text(shown: str, actual: str, bindings: dict[str, str]) -> str | None:
    """None when ``actual`` has the shape of ``shown``; else why not."""
    pattern, bound = _pattern(shown)
    found = pattern.fullmatch(actual)
    if found is None:
        return f"expected {shown!r}, got {actual!r}"
    for shown_value, real in zip(bound, found.groups(), strict=True):
        if bindings.setdefault(shown_value, real) != real:
            return f"{shown_value!r} stood for {bindings[shown_value]!r} before, here for {real!r}"
    return None


def _match_json(shown: Any, actual: Any, bindings: dict[str, str], path: str) -> str | None:
    if isinstance(shown, dict):
        if not isinstance(actual, dict) or set(shown) != set(actual):
            keys = sorted(actual) if isinstance(actual, dict) else type(actual).__name__
            return f"{path}: expected the keys {sorted(shown)}, got {keys}"
        for key, value in shown.items():
            if (problem := _match_json(value, actual[key], bindings, f"{path}.{key}")) is not None:
                return problem
        return None
    if isinstance(shown, list):
        if not isinstance(actual, list) or len(shown) != len(actual):
            return f"{path}: expected {shown!r}, got {actual!r}"
        for index, (item, real) in enumerate(zip(shown, actual, strict=True)):
            if (problem := _match_json(item, real, bindings, f"{path}[{index}]")) is not None:
                return problem
        return None
    if isinstance(shown, str):
        if not isinstance(actual, str):
            return f"{path}: expected a string like {shown!r}, got {actual!r}"
        problem = _match_text(shown, actual, bindings)
        return None if problem is None else f"{path}: {problem}"
    if isinstance(shown, int) and not isinstance(shown, bool) and shown >= 10**9:
        is_timestamp = isinstance(actual, int) and not isinstance(actual, bool) and actual >= 10**9
        return None if is_timestamp else f"{path}: expected a timestamp, got {actual!r}"
    if shown != actual or type(shown) is not type(actual):
        return f"{path}: expected {shown!r}, got {actual!r}"
    return None


def _json_values(text: str) -> list[Any] | None:
    """The JSON values ``text`` consists of (one after another, as curl and jq print them), or None."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    position = 0
    text = text.strip()
    while position < len(text):
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            return None
        values.append(value)
        while position < len(text) and text[position].isspace():
            position += 1
    return values or None


def _lines(text: str) -> list[str]:
    lines = [line.rstrip("\r").rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def output_problem(shown: str, actual: str, bindings: dict[str, str]) -> str | None:
    """None when ``actual`` is what the document shows; else the first difference."""
    shown_values = _json_values(shown)
    if shown_values is not None and all(isinstance(value, (dict, list)) for value in shown_values):
        actual_values = _json_values(actual)
        if actual_values is None or len(actual_values) != len(shown_values):
            return f"expected {len(shown_values)} JSON value(s), got {actual!r}"
        for index, (value, real) in enumerate(zip(shown_values, actual_values, strict=True)):
            if (problem := _match_json(value, real, bindings, f"value {index + 1}")) is not None:
                return problem
        return None
    shown_lines, actual_lines = _lines(shown), _lines(actual)
    if len(shown_lines) != len(actual_lines):
        return f"expected {len(shown_lines)} line(s), got {len(actual_lines)}"
    for number, (line, real) in enumerate(zip(shown_lines, actual_lines, strict=True), start=1):
        if (problem := _match_text(line, real, bindings)) is not None:
            return f"line {number}: {problem}"
    return None


def check_output(block: Block, shown: str, actual: str, bindings: dict[str, str]) -> None:
    problem = output_problem(shown, actual, bindings)
    if problem is not None:
        raise AssertionError(
            f"{block.where()}: the output differs from the one the document shows: {problem}\n"
            f"--- commands\n{block.commands}--- shown\n{shown}--- printed\n{actual}"
        )
