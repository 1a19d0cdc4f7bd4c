"""A service image holds its own service and the platform, never the development tools (``crm up``, the SMTP
sink, the gateway, the supervisor: ``libs/devtools``); there ``crm up`` says it is a development command."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from crm_platform import cli

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILES = sorted(ROOT.glob("services/*/Dockerfile"))


def installed_by(dockerfile: Path) -> list[str]:
    """What the Dockerfile's ``pip install`` commands install from the build context (local paths)."""
    text = dockerfile.read_text().replace("\\\n", " ")
    paths = []
    for command in re.findall(r"pip install ([^&\n]+)", text):
        paths += [word for word in command.split() if not word.startswith("-") and "/" in word]
    return paths


def ignored_by_docker() -> set[str]:
    return {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()[:1] not in "#"}


def test_every_service_has_an_image() -> None:
    assert {path.parent.name for path in DOCKERFILES} == {"contacts", "tickets", "conversations", "mailer", "reports"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.parent.name)
def test_an_image_installs_its_service_and_the_platform_but_no_development_tool(dockerfile: Path) -> None:
    installed = installed_by(dockerfile)

    assert {"libs/protos", "libs/platform", f"services/{dockerfile.parent.name}"} <= set(installed), installed
    assert not [path for path in installed if path.startswith("libs/devtools")], installed


def test_the_development_tools_are_not_even_in_an_images_build_context() -> None:
    assert "libs/devtools" in ignored_by_docker()


def test_the_platform_neither_contains_nor_needs_the_development_tools() -> None:
    platform = ROOT / "libs" / "platform"
    dependencies = tomllib.loads((platform / "pyproject.toml").read_text())["project"]["dependencies"]
    sources = {path: path.read_text() for path in (platform / "crm_platform").rglob("*.py")}

    assert not (platform / "crm_platform" / "devstack.py").exists()
    assert not [d for d in dependencies if d.startswith(("aiosmtpd", "crm-devtools"))]
    assert not [p for p, text in sources.items() if re.search(r"^\s*(from|import) (crm_devtools|aiosmtpd)", text, re.M)]


def test_without_the_development_tools_crm_up_says_it_is_a_development_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As in an image: no distribution contributes commands to the CLI (crm_devtools is not installed).
    monkeypatch.setattr(cli, "entry_points", lambda group: [])

    assert cli.main(["up", "--port", "8090"]) == 2
    error = capsys.readouterr().err
    assert "`crm up` is a development command" in error and "make setup" in error


def test_with_the_development_tools_crm_up_is_theirs() -> None:
    from crm_devtools.up import cmd_up

    assert cli.build_parser().parse_args(["up", "--base-port", "19000"]).func is cmd_up
