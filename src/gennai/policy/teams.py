"""Each team's policy, as the decision point uses it: built from the team's stored settings
(gennai.accounts.teams) and cached per worker for a few seconds, so the hot path pays one
dictionary lookup. An admin's change takes effect within `ttl_s`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gennai.config import PolicyConfig, TeamPolicyConfig
from gennai.policy.decision import Detect, TeamPolicy
from gennai.policy.detection import CustomRules, default_detector, instructions_detector
from gennai.store.tables import COMMON_TEAM_ID, Team


def team_policy(team: Team, deployment: PolicyConfig) -> TeamPolicy:
    settings = TeamPolicyConfig.model_validate(team.policy or {})
    detect: Detect | None = None
    detect_instructions: Detect | None = None
    if (settings.terms or settings.patterns) and deployment.detector == "default":
        # The deployment's dictionary plus the team's, each with its own class.
        terms = [(t, deployment.custom_class) for t in deployment.terms] + [(t, settings.custom_class) for t in settings.terms]
        patterns = [(p, deployment.custom_class) for p in deployment.patterns] + [(p, settings.custom_class) for p in settings.patterns]
        detector = default_detector(CustomRules.from_lists(terms, patterns))
        detect = detector.detect
        detect_instructions = instructions_detector(detector).detect
    return TeamPolicy(
        name=team.name,
        default_class=team.default_class,
        allowed_models=frozenset(team.allowed_models) if team.allowed_models is not None else None,
        on_not_cleared=settings.on_not_cleared,
        pseudonymise=settings.pseudonymise,
        rules=tuple(settings.rules),
        detect=detect,
        detect_instructions=detect_instructions,
    )


class TeamPolicies:
    def __init__(self, engine: Engine, deployment: PolicyConfig, ttl_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.deployment = deployment
        self.ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, TeamPolicy | None]] = {}
        self._lock = threading.Lock()

    def cached(self, team_id: str | None) -> tuple[bool, TeamPolicy | None]:
        """(hit, policy) without touching the database."""
        entry = self._cache.get(team_id or COMMON_TEAM_ID)
        if entry is None or entry[0] < self._clock():
            return False, None
        return True, entry[1]

    def get(self, team_id: str | None) -> TeamPolicy | None:
        """The team's policy (None for a team that no longer exists); may query the database."""
        key = team_id or COMMON_TEAM_ID
        hit, policy = self.cached(key)
        if hit:
            return policy
        with Session(self.engine) as session:
            team = session.get(Team, key)
            policy = team_policy(team, self.deployment) if team is not None else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (self._clock() + self.ttl_s, policy)
        return policy

    def forget(self, team_id: str) -> None:
        """Drop a team from this worker's cache (after an admin change made here)."""
        self._cache.pop(team_id, None)
