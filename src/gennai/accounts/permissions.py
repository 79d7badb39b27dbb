"""Who may do what: one permission table, used by the admin API and by the tests that are
generated from it (tests/test_permissions.py).

Roles (after 源内's published table, plus auditor and evaluator):
- system_admin: everything about teams, members, keys, models, policies and quotas;
- team_admin: a member of the team with the admin flag: the team's members, service keys,
  policy overrides and settings (not its quotas or allowed models: those are budgets and
  deployment decisions);
- member: reads the team and its policy (what they will be held to);
- auditor: read-only on usage records and the audit trail of every team; the only role that
  may open a stored conversation, and only with a reason (audited);
- evaluator: runs procurement evaluations and reads the arena's leaderboard;
- signed_in: anyone signed in, for the common team.

A target team is seen from the actor as "own" (the actor is a member of it), "other" or
"common" (the all-zero team everyone belongs to). Team roles only count for "own".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from gennai.gateway.errors import Forbidden
from gennai.store.tables import COMMON_TEAM_ID


class Role(StrEnum):
    SYSTEM_ADMIN = "system_admin"
    TEAM_ADMIN = "team_admin"
    MEMBER = "member"
    AUDITOR = "auditor"
    EVALUATOR = "evaluator"
    SIGNED_IN = "signed_in"


OWN, OTHER, COMMON = "own", "other", "common"
ANY_TEAM = frozenset({OWN, OTHER, COMMON})
GLOBAL = "global"  # actions not about one team

SA, TA, M, AU, EV, SI = Role.SYSTEM_ADMIN, Role.TEAM_ADMIN, Role.MEMBER, Role.AUDITOR, Role.EVALUATOR, Role.SIGNED_IN

# action → {role: where it is allowed}. Anything not listed is denied.
PERMISSIONS: dict[str, dict[Role, frozenset[str]]] = {
    # teams
    "teams.list": {SI: frozenset({GLOBAL})},  # answers are filtered to what the actor may read
    "teams.create": {SA: frozenset({GLOBAL})},
    "teams.read": {SA: ANY_TEAM, AU: ANY_TEAM, TA: frozenset({OWN}), M: frozenset({OWN}), SI: frozenset({COMMON})},
    "teams.update": {SA: ANY_TEAM, TA: frozenset({OWN})},
    "teams.delete": {SA: ANY_TEAM},
    # members
    "members.list": {SA: ANY_TEAM, TA: frozenset({OWN})},
    "members.manage": {SA: ANY_TEAM, TA: frozenset({OWN})},
    # a team's service keys
    "keys.list": {SA: ANY_TEAM, TA: frozenset({OWN})},
    "keys.manage": {SA: ANY_TEAM, TA: frozenset({OWN})},
    # models a team may use
    "models.manage": {SA: ANY_TEAM},
    # policy overrides
    "policy.read": {SA: ANY_TEAM, AU: ANY_TEAM, TA: frozenset({OWN}), M: frozenset({OWN}), SI: frozenset({COMMON})},
    "policy.manage": {SA: ANY_TEAM, TA: frozenset({OWN})},
    # quotas
    "quotas.read": {SA: ANY_TEAM, AU: ANY_TEAM, TA: frozenset({OWN})},
    "quotas.manage": {SA: ANY_TEAM},
    # usage records (利用実績)
    "usage.read": {SA: ANY_TEAM, AU: ANY_TEAM, TA: frozenset({OWN})},
    # deployment-wide
    "models.list": {SI: frozenset({GLOBAL})},
    "users.list": {SA: frozenset({GLOBAL})},
    "users.manage": {SA: frozenset({GLOBAL})},
    "audit.read": {SA: frozenset({GLOBAL}), AU: frozenset({GLOBAL})},
    "audit.export": {SA: frozenset({GLOBAL}), AU: frozenset({GLOBAL})},
    "content.audit_access": {AU: frozenset({GLOBAL})},
    "evaluations.run": {SA: frozenset({GLOBAL}), EV: frozenset({GLOBAL})},
    # the arena's leaderboard (votes from real use; taking part is open to anyone signed in)
    "arena.read": {SA: frozenset({GLOBAL}), EV: frozenset({GLOBAL})},
    # one's own personal keys and stored conversations
    "own_keys.manage": {SI: frozenset({GLOBAL})},
    "own_content.manage": {SI: frozenset({GLOBAL})},
}


@dataclass(frozen=True)
class Actor:
    """A signed-in user (through a session or an API key with the admin scope)."""

    user_id: str
    username: str
    is_system_admin: bool = False
    roles: frozenset[str] = frozenset()
    # {team id: is admin}; the common team is implicit
    memberships: dict[str, bool] = field(default_factory=dict)
    key_id: str | None = None
    ip: str | None = None

    def relation(self, team_id: str) -> str:
        if team_id == COMMON_TEAM_ID:
            return COMMON
        return OWN if team_id in self.memberships else OTHER

    def roles_for(self, team_id: str | None) -> set[Role]:
        roles = {Role.SIGNED_IN}
        if self.is_system_admin:
            roles.add(Role.SYSTEM_ADMIN)
        if "auditor" in self.roles:
            roles.add(Role.AUDITOR)
        if "evaluator" in self.roles:
            roles.add(Role.EVALUATOR)
        if team_id is not None and team_id in self.memberships:
            roles.add(Role.MEMBER)
            if self.memberships[team_id]:
                roles.add(Role.TEAM_ADMIN)
        return roles


def allowed(actor: Actor, action: str, team_id: str | None = None) -> bool:
    rules = PERMISSIONS[action]  # an unknown action is a programming error
    where = GLOBAL if team_id is None else actor.relation(team_id)
    return any(where in rules.get(role, ()) for role in actor.roles_for(team_id))


def require(actor: Actor, action: str, team_id: str | None = None) -> None:
    if not allowed(actor, action, team_id):
        raise Forbidden(
            "この操作の権限がありません / you do not have permission for this action",
            code="forbidden",
        )


def readable_teams(actor: Actor, team_ids: list[str]) -> list[str]:
    """The teams whose details the actor may read."""
    return [team_id for team_id in team_ids if allowed(actor, "teams.read", team_id)]
