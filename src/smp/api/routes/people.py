"""`/people` and `/accounts`: the directory and how SendGrid accounts match it."""

from __future__ import annotations

from fastapi import APIRouter

from smp.api.problems import problem_responses

router = APIRouter(tags=["people"], responses=problem_responses(404))
