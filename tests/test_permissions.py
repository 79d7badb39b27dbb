"""The permission matrix, generated from the one permission table: every admin endpoint ×
every role × own team / other team / common team. Allowed means neither 401/403 nor a 5xx;
denied means exactly 403. Each case gets fresh teams so no case depends on another."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gennai.accounts.keys import create_key, create_service_key
from gennai.accounts.permissions import COMMON, GLOBAL, OTHER, OWN, PERMISSIONS, Role
from gennai.api.admin_routes import ENDPOINTS, Endpoint
from gennai.store.tables import COMMON_TEAM_ID
from tests.support.openai_upstream import OpenAIUpstream
from tests.support.servers import GennaiServer, running_gennai
from tests.test_policy_routing import models

# Each persona: its global roles, and its roles in the team it belongs to ("own").
PERSONAS: dict[str, dict[str, Any]] = {
    "system_admin": {"system_admin": True, "roles": [], "own": None},
    "team_admin": {"system_admin": False, "roles": [], "own": "admin"},
    "member": {"system_admin": False, "roles": [], "own": "member"},
    "auditor": {"system_admin": False, "roles": ["auditor"], "own": None},
    "evaluator": {"system_admin": False, "roles": ["evaluator"], "own": None},
    "signed_in": {"system_admin": False, "roles": [], "own": None},
}


def expected(persona: str, action: str, where: str) -> bool:
    """Read straight from the table: the persona's roles where the target is."""
    spec = PERSONAS[persona]
    roles = {Role.SIGNED_IN}
    if spec["system_admin"]:
        roles.add(Role.SYSTEM_ADMIN)
    roles |= {Role(r) for r in spec["roles"]}
    if where == OWN and spec["own"]:
        roles.add(Role.MEMBER)
        if spec["own"] == "admin":
            roles.add(Role.TEAM_ADMIN)
    return any(where in PERMISSIONS[action].get(role, ()) for role in roles)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, openai_upstream: tuple[OpenAIUpstream, str]) -> Iterator[GennaiServer]:
    with running_gennai(tmp_path_factory.mktemp("perm"), models(openai_upstream[1])) as s:
        yield s


@dataclass
class Case:
    persona_key: str
    persona_user: str
    path: str
    body: dict[str, Any] | None


def setup_case(server: GennaiServer, persona: str, endpoint: Endpoint, where: str) -> Case:
    platform = server.platform
    secret = platform.keys.secret
    suffix = uuid.uuid4().hex[:8]
    spec = PERSONAS[persona]
    actor = platform.users.create(f"{persona}-{suffix}", is_system_admin=spec["system_admin"], roles=spec["roles"])
    owner = platform.users.create(f"owner-{suffix}")
    victim = platform.users.create(f"victim-{suffix}")
    own = platform.teams.create(f"own-{suffix}", "自課", admin_user_id=owner.id)
    other = platform.teams.create(f"other-{suffix}", "他課", admin_user_id=owner.id)
    if spec["own"]:
        platform.teams.add_member(own.id, actor.id, is_admin=spec["own"] == "admin")
    target = {OWN: own.id, OTHER: other.id, COMMON: COMMON_TEAM_ID, GLOBAL: None}[where]
    if target not in (None, COMMON_TEAM_ID):
        platform.teams.add_member(target, victim.id)
    key = create_key(platform.engine, secret, name=f"k-{suffix}", user_id=actor.id, scopes=("chat", "admin")).key
    own_key = create_key(platform.engine, secret, name=f"own-{suffix}", user_id=actor.id).record_id
    team_key = create_service_key(platform.engine, secret, team_id=target or own.id, name="svc").record_id if target != COMMON_TEAM_ID else str(uuid.uuid4())
    conversation = platform.content.create(victim.id, target or COMMON_TEAM_ID, "相談記録")
    platform.content.append(conversation, victim.id, "user", "内容", max_class=1)
    if "/me/conversations/" in endpoint.path:  # one's own
        conversation = platform.content.create(actor.id, COMMON_TEAM_ID, "自分の会話")
    path = endpoint.path.format(team_id=target, user_id=victim.id, conversation_id=conversation,
                                key_id=own_key if "/me/" in endpoint.path else team_key)
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/admin/teams"): {"name": f"new-{suffix}", "display_name": "新課", "admin": owner.username},
        ("PATCH", "/admin/teams/{team_id}"): {"display_name": "改称"},
        ("POST", "/admin/teams/{team_id}/members"): {"username": actor.username if not spec["own"] else owner.username + "x"},
        ("PATCH", "/admin/teams/{team_id}/members/{user_id}"): {"is_admin": True},
        ("POST", "/admin/teams/{team_id}/keys"): {"name": "batch"},
        ("PUT", "/admin/teams/{team_id}/models"): {"models": None},
        ("PUT", "/admin/teams/{team_id}/policy"): {"terms": ["さくら計画"]},
        ("PUT", "/admin/teams/{team_id}/quotas"): {"requests_per_minute": 100},
        ("POST", "/admin/users"): {"username": f"made-{suffix}"},
        ("PATCH", "/admin/users/{user_id}"): {"display_name": "新しい名前"},
        ("PUT", "/admin/users/{user_id}/quotas"): {"tokens_per_day": 1000},
        ("POST", "/admin/me/keys"): {"name": "mine"},
        ("POST", "/admin/conversations/{conversation_id}/access"): {"reason": "情報公開請求に対する調査のため（案件番号 2026-31）"},
    }
    return Case(key, actor.id, path, bodies.get((endpoint.method, endpoint.path)))


CASES = [
    pytest.param(endpoint, persona, where, id=f"{endpoint.method} {endpoint.path} {persona} {where}")
    for endpoint, persona in itertools.product(ENDPOINTS, PERSONAS)
    for where in ((OWN, OTHER, COMMON) if endpoint.team_scoped else (GLOBAL,))
]


@pytest.mark.parametrize(("endpoint", "persona", "where"), CASES)
def test_permission_matrix(server: GennaiServer, endpoint: Endpoint, persona: str, where: str) -> None:
    case = setup_case(server, persona, endpoint, where)
    with httpx.Client(base_url=server.root_url, headers={"Authorization": f"Bearer {case.persona_key}"}, timeout=10) as client:
        response = client.request(endpoint.method, case.path, json=case.body)
    assert response.status_code < 500, response.text
    if expected(persona, endpoint.action, where):
        assert response.status_code not in (401, 403), f"{persona} should be allowed: {response.text}"
    else:
        assert response.status_code == 403, f"{persona} should be refused, got {response.status_code}: {response.text}"
        assert response.json()["error"]["type"] == "permission_error"


def test_every_action_in_the_table_is_used_or_reserved() -> None:
    used = {endpoint.action for endpoint in ENDPOINTS}
    reserved = {"evaluations.run"}  # the evaluation issue's endpoints
    assert set(PERMISSIONS) - used <= reserved


def test_no_route_escapes_the_table() -> None:
    from gennai.api.admin_routes import routes

    assert len(routes) == len(ENDPOINTS)
    assert all(endpoint.action in PERMISSIONS for endpoint in ENDPOINTS)
