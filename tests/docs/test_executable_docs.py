"""The commands of README.md and docs/ run as written, against a real server, and print what the documents show.

A document runs in a folder that stands for a fresh checkout (`.venv` linked in, an empty `./var`),
against `gatepass serve` started there on a free port with no setting but the port, on a new SQLite
database (short documents share one, each in a shell of its own). The conventions (which blocks run, how output is compared, the
`<!-- illustrative -->` marker) are in docs_support.py.

README.md is written for a person at a terminal, who copies values from one command's output into
the next: its commands hold placeholders (CLIENT_ID, CLIENT_SECRET, ...) that README_VALUES says
where to read from, and the one step that needs a browser (log in, Allow) is done in Chromium.
The other documents are scripts: they keep what they need in shell variables.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from docs_support import ILLUSTRATIVE, ROOT, Block, DocSession, output_problem, read_blocks, shell_blocks

from gatepass.config import load_settings
from support.backends import require

README = ROOT / "README.md"
#: The documents that are scripts: every shell block not marked illustrative runs, in order. The short
#: ones share a server (each in a new shell), since starting one costs more than their commands.
SCRIPTED_DOCS = (
    ("docs/integrators.md",),
    (
        "docs/frappe-compatibility.md",
        "docs/mcp.md",
        "docs/documents.md",
        "docs/postman/README.md",
        "docs/par.md",
        "docs/device-flow.md",
        "docs/fapi2.md",
        "docs/accounts.md",
        "docs/dpop.md",
    ),
)
#: Where each value a README reader copies comes from: the placeholder the README writes, a piece of
#: the command that prints it, and the pattern that finds it in that command's output.
README_VALUES = (
    ("CLIENT_ID", '--name "Shop backend"', r"^client_id:\s+(\S+)$"),
    ("CLIENT_SECRET", '--name "Shop backend"', r"^client_secret:\s+(\S+)"),
    ("AUTHORIZATION_URL", "client try", r"^(http://\S+/oauth/authorize\?\S+)$"),
    ("CODE_VERIFIER", "client try", r"code_verifier=(\S+)"),
    ("SYNC_ID", '--name "Shop sync"', r"^client_id:\s+(\S+)$"),
    ("SYNC_SECRET", '--name "Shop sync"', r"^client_secret:\s+(\S+)"),
    ("TOKEN", "grant_type=client_credentials", r'"access_token":"([^"]+)"'),
)
#: The one value a README reader reads in the browser: the code in the address it is sent to after Allow.
BROWSER_VALUE = "CODE"
#: Whom the tour logs in as, as it tells the reader.
TOUR_USER = ("alice@example.com", "alice-password-1")
TOUR_REDIRECT_URI = "https://shop.example.com/callback"


@pytest.fixture
def session(tmp_path: Path) -> Any:
    for tool in ("curl", "jq", "openssl"):
        require(None if shutil.which(tool) else f"{tool} is not installed; the documents use it")
    started = DocSession(tmp_path).start()
    yield started
    started.stop()


def _placeholders(text: str) -> list[str]:
    names = [name for name, _, _ in README_VALUES] + [BROWSER_VALUE]
    return [name for name in names if re.search(rf"(?<![\w$]){name}(?!\w)", text)]


def _fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = re.sub(rf"(?<![\w$]){name}(?!\w)", lambda _: value, text)
    return text


def _read_values(block: Block, printed: str, values: dict[str, str]) -> None:
    for name, command, pattern in README_VALUES:
        if command in block.commands:
            found = re.search(pattern, printed, re.MULTILINE)
            assert found, f"{block.where()}: {name} is not in the output of `{command}`:\n{printed}"
            values[name] = found.group(1)


async def _allow_in_browser(page: Any, authorization_url: str) -> str:
    """What the tour tells the reader to do: open the URL, log in, press Allow, read the code."""
    await page.route(f"{TOUR_REDIRECT_URI}*", lambda route: route.abort())
    async with page.expect_request(lambda request: request.url.startswith(TOUR_REDIRECT_URI)) as sent:
        await page.goto(authorization_url)
        await page.fill("#email", TOUR_USER[0])
        await page.fill("#password", TOUR_USER[1])
        await page.click("button[type=submit]")
        await page.click("button[value=allow]")
    query = parse_qs(urlsplit((await sent.value).url).query)
    return str(query["code"][0])


def _unmarked(path: Path) -> list[Block]:
    return [block for block in shell_blocks(path) if not block.is_illustrative]


@pytest.mark.browser
@pytest.mark.long_running
async def test_readme_tour_runs_in_a_terminal_and_a_browser(session: DocSession, page: Any) -> None:
    values: dict[str, str] = {}
    token_command = ""
    for block in _unmarked(README):
        if BROWSER_VALUE in _placeholders(block.commands) and BROWSER_VALUE not in values:
            values[BROWSER_VALUE] = await _allow_in_browser(page, values["AUTHORIZATION_URL"])
        missing = [name for name in _placeholders(block.commands) if name not in values]
        assert not missing, f"{block.where()}: no earlier output gave {missing}"
        if "grant_type=authorization_code" in block.commands:
            # The exchange the README shows is the one `gatepass client try` printed.
            shown = session.localise(block.commands).strip()
            printed = token_command.replace(values["CLIENT_ID"], "CLIENT_ID", 1)
            assert printed.replace(values["CODE_VERIFIER"], "CODE_VERIFIER") == shown
        result = await asyncio.to_thread(session.run, block, _fill(block.commands, values))
        _read_values(block, result.stdout, values)
        if "client try" in block.commands:
            token_command = result.stdout[result.stdout.index("curl ") :].strip()
    assert session.ran == _unmarked(README)
    assert {BROWSER_VALUE, *(name for name, _, _ in README_VALUES)} <= set(values)


def test_readme_gives_the_real_code_lifetime() -> None:
    minutes = load_settings({}).tokens.code_ttl_seconds // 60
    assert f"within {minutes} minutes" in README.read_text(encoding="utf-8")


@pytest.mark.long_running
@pytest.mark.parametrize("docs", SCRIPTED_DOCS, ids=lambda docs: docs[0] if len(docs) == 1 else "short-docs")
def test_doc_commands_run_and_print_what_the_doc_shows(session: DocSession, docs: tuple[str, ...]) -> None:
    blocks: list[Block] = []
    for doc in docs:
        session.new_terminal()
        for block in _unmarked(ROOT / doc):
            session.run(block)
            blocks.append(block)
    assert session.ran == blocks


def test_every_shell_block_of_the_docs_is_run_or_marked_illustrative() -> None:
    documents = [README, *sorted((ROOT / "docs").rglob("*.md"))]
    run = {README, *(ROOT / doc for docs in SCRIPTED_DOCS for doc in docs)}
    unrun = [block.where() for path in documents if path not in run for block in _unmarked(path)]
    assert unrun == [], f"mark these {ILLUSTRATIVE} on the line before, or add their document to SCRIPTED_DOCS"


@pytest.mark.parametrize(
    ("shown", "printed", "problem"),
    [
        ('{"a": "sLAXpKhswKWCG7Xq3j411Q", "exp": 1795611518}', '{"exp":1800000000,"a":"x_Y-9zzzz"}', None),
        ('{"a": 1}', '{"a": 1, "b": 2}', "value 1: expected the keys ['a'], got ['a', 'b']"),
        ("state=1d53d0b32fbed856\nstate=1d53d0b32fbed856", "state=0a1b2c\nstate=0a1b2d", "line 2: "),
        ('{"id_token": "eyJ0eXAiOiJKV1QiLCJhbGci..."}', '{"id_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}', None),
        ("HTTP/1.1 200 OK", "HTTP/1.1 200 OK\r\n\n", None),
        ("created 2026-12-03 08:40:00.123456", "created 2027-01-01 00:00:00.5", None),
        ("Wrong email or password.", "Wrong email.", "line 1: expected"),
    ],
    ids=[
        "random-values-and-timestamps",
        "extra-key",
        "one-shown-value-two-real-ones",
        "ellipsis",
        "crlf",
        "dates",
        "text",
    ],
)
def test_output_comparison_lets_only_run_specific_values_differ(shown: str, printed: str, problem: str | None) -> None:
    found = output_problem(shown, printed, {})
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem), found


def test_shell_blocks_are_read_with_their_marker_and_the_output_right_after_them(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "Run:\n\n```sh\necho one\n```\n\n```text\none\n```\n\n"
        "1. In a list:\n\n   <!-- illustrative -->\n   ```bash\n   make deploy\n   ```\n\n"
        "```console\n$ printf 'a\\\\n' \\\n  | cat\na\n```\n\nSome words.\n\n```json\n{}\n```\n",
        encoding="utf-8",
    )
    blocks = shell_blocks(doc)
    assert [(block.language, block.is_illustrative, block.expected_output) for block in blocks] == [
        ("sh", False, "one\n"),
        ("bash", True, None),
        ("console", False, "a"),
    ]
    assert blocks[1].commands == "make deploy\n"
    assert blocks[2].commands == "printf 'a\\\\n' \\\n  | cat\n"
    assert [block.language for block in read_blocks(doc)] == ["sh", "text", "bash", "console", "json"]
