"""``uses:``: step templates read beside the workflow file, confined to its folder.

Each ``uses-*.yaml`` in ``templates/`` holds one mistake; ``templates/expected.txt`` holds the
exact report under a ``# file`` line (positions in the file where the mistake is written).
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest

from govflow.cli.workflow_files import TemplateFiles, discover
from govflow.core.spec import StepRetry
from govflow.core.spec_errors import SpecError
from govflow.core.step_templates import MAX_TEMPLATE_BYTES, MAX_TEMPLATES, check_reference
from govflow.core.validation import validate_workflow
from govflow.usecases.workflows import SourceFile, validate_workflow_files

from .actions import TEST_ACTIONS

TEMPLATES = Path(__file__).parent / "templates"
HEAD = (
    "name: templates-case\ntitle: Templates case\ndepartment: testing\n"
    "inputs:\n  who: {type: string, default: world}\nsteps:\n"
)


def _expected() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    current = ""
    for line in (TEMPLATES / "expected.txt").read_text().splitlines():
        if line.startswith("# "):
            current = line[2:]
        elif line.strip():
            found[current].append(line)
    return found


EXPECTED = _expected()
CASES = sorted(path.name for path in TEMPLATES.glob("uses-*.yaml"))


def _reader(paths: list[Path]) -> TemplateFiles:
    return TemplateFiles({str(path): root for path, root in discover(paths).items()})


def test_every_case_has_its_expected_report() -> None:
    assert sorted(EXPECTED) == CASES


@pytest.mark.parametrize("name", CASES)
def test_a_broken_use_reports_exactly(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(TEMPLATES)
    with pytest.raises(SpecError) as caught:
        validate_workflow(Path(name).read_text(), name, TEST_ACTIONS, _reader([Path(".")]))
    assert caught.value.format().splitlines() == EXPECTED[name]


def test_the_steps_keys_override_the_templates_and_with_merges_key_by_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(TEMPLATES)
    spec = validate_workflow(
        Path("valid.yaml").read_text(), "valid.yaml", TEST_ACTIONS, _reader([Path("valid.yaml")])
    )
    first, second = spec.steps
    assert (first.id, first.action, first.description) == ("first", "echo", "Says hello")
    assert first.with_ == {"message": "Hello {{ inputs.who }}", "count": 2}
    assert first.retry == StepRetry(max_attempts=2)
    assert (second.id, second.description) == ("second", "Says it again")
    assert second.with_ == {"message": "Hello {{ inputs.who }}", "count": 1}
    assert second.retry == StepRetry(max_attempts=5)


def test_a_symbolic_link_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "workflows.d"
    (folder / "steps").mkdir(parents=True)
    outside = tmp_path / "secret.yaml"
    outside.write_text("action: echo\nwith: {message: leaked}\n")
    (folder / "steps" / "link.yaml").symlink_to(outside)
    workflow = folder / "w.yaml"
    workflow.write_text(HEAD + "  - id: first\n    uses: ./steps/link.yaml\n")
    with pytest.raises(SpecError) as caught:
        validate_workflow(workflow.read_text(), str(workflow), TEST_ACTIONS, _reader([folder]))
    assert caught.value.format().splitlines() == [
        f"{workflow}:8:11: steps[0].uses: step template './steps/link.yaml' resolves outside "
        f"the workflows folder ({folder})"
    ]


def test_a_template_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    (tmp_path / "steps").mkdir()
    big = "action: echo\nwith:\n  message: " + "x" * MAX_TEMPLATE_BYTES + "\n"
    (tmp_path / "steps" / "big.yaml").write_text(big)
    (tmp_path / "steps" / "folder.yaml").mkdir()
    workflow = tmp_path / "w.yaml"
    workflow.write_text(
        HEAD + "  - id: first\n    uses: steps/big.yaml\n"
        "  - id: second\n    uses: steps/folder.yaml\n"
    )
    with pytest.raises(SpecError) as caught:
        validate_workflow(workflow.read_text(), str(workflow), TEST_ACTIONS, _reader([workflow]))
    assert caught.value.format().splitlines() == [
        f"{workflow}:8:11: steps[0].uses: step template 'steps/big.yaml' is larger than "
        f"{MAX_TEMPLATE_BYTES} bytes",
        f"{workflow}:10:11: steps[1].uses: step template 'steps/folder.yaml' is not a file "
        f"({os.path.normpath(tmp_path / 'steps' / 'folder.yaml')})",
    ]


def test_a_workflow_uses_a_bounded_number_of_templates(tmp_path: Path) -> None:
    (tmp_path / "steps").mkdir()
    steps = []
    for index in range(MAX_TEMPLATES + 1):
        (tmp_path / "steps" / f"t{index}.yaml").write_text("action: echo\nwith: {message: hi}\n")
        steps.append(f"  - id: s{index}\n    uses: steps/t{index}.yaml\n")
    workflow = tmp_path / "w.yaml"
    workflow.write_text(HEAD + "".join(steps))
    with pytest.raises(SpecError) as caught:
        validate_workflow(workflow.read_text(), str(workflow), TEST_ACTIONS, _reader([workflow]))
    line = 7 + 2 * MAX_TEMPLATES + 1
    assert caught.value.format().splitlines() == [
        f"{workflow}:{line}:11: steps[{MAX_TEMPLATES}].uses: a workflow uses at most "
        f"{MAX_TEMPLATES} templates"
    ]


def test_an_upload_cannot_use_a_template() -> None:
    text = HEAD + "  - id: first\n    uses: ./steps/echo-hello.yaml\n"
    with pytest.raises(SpecError) as caught:
        validate_workflow_files([SourceFile("upload.yaml", text)], TEST_ACTIONS)
    assert caught.value.format().splitlines() == [
        "upload.yaml:8:11: steps[0].uses: uses: reads a file beside the workflow: it works for "
        "files in a workflows folder (govflow workflows validate/load), not for an upload"
    ]


@pytest.mark.parametrize(
    ("ref", "refused"),
    [
        ("./steps/a.yaml", False),
        ("steps/a.yml", False),
        ("a.yaml", False),
        ("", True),
        ("../a.yaml", True),
        ("steps/../../a.yaml", True),
        ("/abs/a.yaml", True),
        ("~/a.yaml", True),
        ("steps\\a.yaml", True),
        ("c:/a.yaml", True),
        ("steps/a.json", True),
        ("steps/.hidden.yaml", True),
        ("x" * 300 + ".yaml", True),
    ],
)
def test_reference_forms(ref: str, refused: bool) -> None:
    assert (check_reference(ref) is not None) is refused
