"""building-permit's review for the browser tests: the shipped workflow up to its Jira steps,
its review step given a form (a choice and a bounded number), started through the real API."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx

from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.core.validation import validate_workflow
from govflow.usecases.audit import SYSTEM
from tests.browser.people import PASSWORD
from tests.support.engine import plugins_for_tests

ROOT = Path(__file__).resolve().parents[2]
FORM = """\
      form:
        recommendation: {type: choice, options: [grant, refuse], required: true}
        floor_area: {type: number, min: 1, max: 100000, label: Floor area (m2)}
"""


def permit_review_yaml() -> str:
    text = (ROOT / "workflows.d" / "building-permit.yaml").read_text()
    text = text[: text.index("  - id: comment")]
    return text.replace("      due_in: 2d\n", "      due_in: 2d\n" + FORM, 1)


async def install_permit_review(database_url: str) -> str:
    text = permit_review_yaml()
    spec = validate_workflow(text, "building-permit.yaml", plugins_for_tests().actions().inputs())
    conn = await asyncpg.connect(database_url)
    try:
        saved = await PgWorkflowStore(conn).save(spec, text, "building-permit.yaml", SYSTEM)
    finally:
        await conn.close()
    return str(saved.workflow_id)


async def start_permit(url: str, workflow_id: str, email: str, issue: str = "PERMIT-42") -> str:
    """Start the review as ``email`` through the API; the execution's id."""
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
        login = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["data"]["access_token"]
        started = await client.post(
            f"/workflows/{workflow_id}/executions",
            json={"inputs": {"issue_key": issue, "applicant": "Ada Lovelace"}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert started.status_code == 201, started.text
        return str(started.json()["data"]["execution_id"])


async def execution_status(database_url: str, execution_id: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        return str(
            await conn.fetchval("SELECT status FROM executions WHERE id = $1::uuid", execution_id)
        )
    finally:
        await conn.close()
