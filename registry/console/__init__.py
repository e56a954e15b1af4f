"""The office web console: server-rendered pages for the Bürgerbüro.

``build_console(registry_server)`` returns the console's routes, to be
mounted at ``/`` of the registry's web front door (registry/web.py) beside
the HTTP/JSON API (list the API's ``Mount("/api/v1", ...)`` first). How to
add a page: see app.py's docstring and SKELETON_READY in the repository.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from registry.console import (
    alarms, commands, fleet, oidc_signin, orders, password, reports, signin, staff, users,
)
from registry.console.app import Console
from registry.console.letter import LetterSettings
from registry.console.sessions import DEFAULT_IDLE_MINUTES
from registry.reports import ReportConfig

# Each module has register(console): its routes and navigation entries.
PAGES = (signin, oidc_signin, orders, fleet, alarms, commands, reports, staff, users, password)


def build_console(registry_server, *, idle_minutes: float = DEFAULT_IDLE_MINUTES,
                  letter: LetterSettings | None = None,
                  report_config: ReportConfig | None = None, oidc=()) -> list[BaseRoute]:
    """The console's routes for one running registry (its db and OfficeServicer).

    ``letter``: the office's letterhead and box sites for the pickup letter;
    ``report_config``: the counter's opening hours and time zone for reports;
    ``oidc``: registry.oidc.OidcProvider instances for single sign-on.
    """
    console = Console(registry_server, idle_minutes=idle_minutes, letter=letter,
                      report_config=report_config, oidc=oidc)
    for module in PAGES:
        module.register(console)
    return console.routes()
