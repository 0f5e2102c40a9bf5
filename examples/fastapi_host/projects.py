"""The one place that knows a project's fields: a rename in the models is a one-line fix here."""

from __future__ import annotations

from typing import Any

from projectmanagement_core.models import CreateProjectRequest, Project

__all__ = ["new_project", "project_json"]


def new_project(key: str, title: str) -> CreateProjectRequest:
    """The request creating project ``key`` with display ``title``."""
    return CreateProjectRequest(key=key, title=title)


def project_json(project: Project) -> dict[str, Any]:
    """What the host's API shows of a project."""
    return {"id": str(project.id), "key": project.key, "title": project.title, "version": project.version}
