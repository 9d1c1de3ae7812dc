"""My tasks: the inbox (assigned to me, eligible for me, overdue, my department's) with counts,
and a task's page with the actions its state and the viewer's role allow.

The inbox and the page read through :class:`~govflow.usecases.task_views.Tasks` (the use case
behind ``GET /tasks``) and :mod:`govflow.usecases.task_page`; every action is
:meth:`Tasks.act`, as ``POST /tasks/{task_id}/<action>`` is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency

from govflow.bootstrap.api import Api
from govflow.http.console.pages import BASE, render
from govflow.http.console.viewer import console_of
from govflow.usecases.paging import PageRequest
from govflow.usecases.principal import Principal
from govflow.usecases.task_ports import TaskFilter
from govflow.usecases.task_views import Tasks


def tasks_of(api: Api) -> Tasks:
    return Tasks(api.services.tasks, api.services.queue)


@dataclass(frozen=True, slots=True)
class Box:
    """One view of the inbox: its key, its label and the filter it lists."""

    key: str
    label: str
    where: TaskFilter


BOXES = (
    Box("assigned", "Assigned to me", TaskFilter(assigned_to_me=True)),
    Box("eligible", "Eligible for me", TaskFilter(eligible_for_me=True)),
    Box("overdue", "Overdue", TaskFilter(overdue=True)),
    Box("department", "My department", TaskFilter()),
)


class TaskPages(Controller):
    path = "/tasks"

    @get("/")
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        box: str = "assigned",
        page: int = 1,
    ) -> Response[Any]:
        tasks = tasks_of(console_of(request).api)
        chosen = next((b for b in BOXES if b.key == box), BOXES[0])
        wanted = PageRequest(max(1, min(page, 1_000_000)), 25)
        counts: dict[str, int] = {}
        listed = None
        for each in BOXES:
            found = await tasks.search(
                viewer, each.where, wanted if each is chosen else PageRequest(1, 1)
            )
            counts[each.key] = found.total
            if each is chosen:
                listed = found
        context = {"boxes": BOXES, "box": chosen, "counts": counts, "listed": listed}
        return render(request, "tasks/inbox.html", context, viewer=viewer)


__all__ = ["BASE", "BOXES", "TaskPages", "tasks_of"]
