"""FastAPI dependencies shared by the routes: the services, the settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from assistant.services import Services
from assistant.settings import Settings


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_settings(request: Request) -> Settings:
    return get_services(request).settings


ServicesDep = Annotated[Services, Depends(get_services)]
