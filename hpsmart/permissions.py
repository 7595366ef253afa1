"""Who may do what: one table from roles to permissions, and the view guard.

Every view that is not public is wrapped in ``@requires(Permission.X)``; the
access test walks the URL map and checks each endpoint against this table.
"""
from __future__ import annotations

import enum
from functools import wraps
from typing import Callable

from flask import abort, request
from flask_login import current_user

from .models.user import Role


class Permission(str, enum.Enum):
    """Capabilities a role can hold."""

    VIEW_INBOX = "view_inbox"  # the shared inbox and report views (scoped by role in the query)
    TRIAGE = "triage"  # accept, classify, route, reject (IOC)
    ANSWER = "answer"  # draft and send an answer (agency)
    APPROVE = "approve"  # approve an answer for publication (agency lead)
    ASSIST_INTAKE = "assist_intake"  # submit on behalf of a citizen (Digital Community team)
    VIEW_STATISTICS = "view_statistics"  # dashboard and PDF reports
    MANAGE_USERS = "manage_users"
    MANAGE_REFERENCE = "manage_reference"  # agencies, units, categories, API clients
    ACCOUNT = "account"  # own settings: any logged-in user


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.IOC_OPERATOR: frozenset(
        {Permission.VIEW_INBOX, Permission.TRIAGE, Permission.ASSIST_INTAKE,
         Permission.VIEW_STATISTICS, Permission.ACCOUNT}
    ),
    Role.AGENCY_STAFF: frozenset({Permission.VIEW_INBOX, Permission.ANSWER, Permission.ACCOUNT}),
    Role.AGENCY_LEAD: frozenset(
        {Permission.VIEW_INBOX, Permission.ANSWER, Permission.APPROVE,
         Permission.VIEW_STATISTICS, Permission.ACCOUNT}
    ),
    Role.COMMUNITY_MEMBER: frozenset({Permission.ASSIST_INTAKE, Permission.ACCOUNT}),
}


def role_can(role: Role, permission: Permission) -> bool:
    """True when ``role`` holds ``permission`` in ``ROLE_PERMISSIONS``."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def requires(permission: Permission) -> Callable:
    """View decorator: anonymous users go to the login page, others need ``permission``.

    Anonymous: redirect to ``/login?next=...`` (for htmx requests, an
    ``HX-Redirect`` header instead, so no login form lands inside a fragment).
    Logged in without the permission: 403.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from .extensions import login_manager

                return login_manager.unauthorized()
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return wrapped

    return decorator


def polled(view: Callable) -> Callable:
    """Mark a view that a page calls by itself, without the person doing anything (an htmx
    poll, e.g. the presence heartbeat). When the session has ended, such a request is not
    sent to the login page (that would take the page, and whatever is typed in it, away
    unasked): it answers a notice with a login link and stops the polling (see
    ``hpsmart.web.init_login``). Put it above ``@requires``."""
    view.polled = True  # type: ignore[attr-defined]
    return view


def is_htmx() -> bool:
    """True when the current request was sent by htmx (and is not a history restore)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )
