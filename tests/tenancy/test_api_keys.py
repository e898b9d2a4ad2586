"""API keys: hashed at rest, found by prefix, last use recorded sparingly, revocation."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient

from referrals.models import ApiKey
from referrals.tenancy.authentication import INVALID_TOKEN, BearerTokenAuthentication
from referrals.tenancy.services import TOKEN_PREFIX, api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db


def connections_url(brand) -> str:
    return f"/v1/{brand.pk}/ai-referrals/connections"


def bearer_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def new_key(organization):
    return api_key_create(organization=organization, name="etl", scopes=["configure", "query"])


def test_the_clear_token_is_in_no_column(new_key):
    token = new_key.token
    secret = token[len(new_key.api_key.prefix) :]
    rows = list(ApiKey.objects.values())
    assert len(rows) == 1
    for column, value in rows[0].items():
        assert token not in str(value), column
        assert secret not in str(value), column


def test_the_token_hash_is_the_sha256_of_the_token(new_key):
    stored = ApiKey.objects.get(pk=new_key.api_key.pk)
    assert stored.token_hash == hashlib.sha256(new_key.token.encode()).hexdigest()


def test_the_prefix_is_a_short_visible_prefix_of_the_token(new_key):
    prefix = ApiKey.objects.get(pk=new_key.api_key.pk).prefix
    assert prefix.startswith(TOKEN_PREFIX)
    assert new_key.token.startswith(prefix)
    # 43 base64url characters (256 random bits) follow `air_`; the visible prefix shows 8 of
    # them, so over 200 secret bits stay behind it.
    assert len(prefix) == len(TOKEN_PREFIX) + 8
    assert len(new_key.token) == len(TOKEN_PREFIX) + 43


def test_tokens_are_unique(organization):
    tokens = {
        api_key_create(organization=organization, name=f"k{i}", scopes=["query"]).token
        for i in range(20)
    }
    assert len(tokens) == 20
    assert ApiKey.objects.values("prefix").distinct().count() == 20


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (["query", "configure"], ["configure", "query"]),
        (["query", "query"], ["query"]),
        (["configure"], ["configure"]),
    ],
)
def test_scopes_are_stored_deduplicated_in_canonical_order(organization, given, stored):
    new = api_key_create(organization=organization, name="k", scopes=given)
    assert ApiKey.objects.get(pk=new.api_key.pk).scopes == stored


def test_unknown_scope_is_refused_and_nothing_is_stored(organization):
    with pytest.raises(ValueError, match="Unknown scope"):
        api_key_create(organization=organization, name="k", scopes=["query", "admin"])
    assert not ApiKey.objects.exists()


def test_a_valid_token_authenticates(new_key, brand):
    assert bearer_client(new_key.token).get(connections_url(brand)).status_code == 200


def test_last_used_at_is_set_on_first_use(new_key, brand):
    assert new_key.api_key.last_used_at is None
    before = timezone.now()
    bearer_client(new_key.token).get(connections_url(brand))
    last_used_at = ApiKey.objects.get(pk=new_key.api_key.pk).last_used_at
    assert last_used_at is not None and before <= last_used_at <= timezone.now()


def test_last_used_at_is_written_at_most_once_a_minute(new_key, brand):
    client = bearer_client(new_key.token)
    client.get(connections_url(brand))
    first = ApiKey.objects.get(pk=new_key.api_key.pk).last_used_at
    for _ in range(3):
        assert client.get(connections_url(brand)).status_code == 200
    assert ApiKey.objects.get(pk=new_key.api_key.pk).last_used_at == first

    # Once the stored value is over a minute old, the next request refreshes it.
    stale = timezone.now() - timedelta(minutes=2)
    ApiKey.objects.filter(pk=new_key.api_key.pk).update(last_used_at=stale)
    client.get(connections_url(brand))
    assert ApiKey.objects.get(pk=new_key.api_key.pk).last_used_at > stale + timedelta(minutes=1)


def test_authentication_costs_one_query_when_last_use_is_fresh(new_key, django_assert_num_queries):
    with django_assert_num_queries(2):  # look-up, then the first last_used_at write
        BearerTokenAuthentication.key_for_token(new_key.token)
    with django_assert_num_queries(1):  # look-up only
        api_key = BearerTokenAuthentication.key_for_token(new_key.token)
    assert api_key.pk == new_key.api_key.pk
    assert api_key.organization.name == "Acme"  # selected with the key, no extra query


def test_revoked_key_is_401(new_key, brand):
    api_key_revoke(api_key=new_key.api_key)
    response = bearer_client(new_key.token).get(connections_url(brand))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": INVALID_TOKEN}
    api_key = ApiKey.objects.get(pk=new_key.api_key.pk)
    assert api_key.revoked and api_key.revoked_at is not None


def test_revoking_twice_keeps_the_first_revocation_time(new_key):
    api_key_revoke(api_key=new_key.api_key)
    first = ApiKey.objects.get(pk=new_key.api_key.pk).revoked_at
    api_key_revoke(api_key=ApiKey.objects.get(pk=new_key.api_key.pk))
    assert ApiKey.objects.get(pk=new_key.api_key.pk).revoked_at == first


def test_revocation_leaves_other_keys_working(new_key, organization, brand):
    other = api_key_create(organization=organization, name="other", scopes=["query"])
    api_key_revoke(api_key=new_key.api_key)
    assert bearer_client(other.token).get(connections_url(brand)).status_code == 200


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # last character
        lambda token: token[:12] + "x" * (len(token) - 12),  # whole secret part
        lambda token: token[:12],  # the prefix alone
        lambda token: token + "x",  # one character too many
    ],
    ids=["last-char", "secret", "prefix-only", "longer"],
)
def test_matching_prefix_with_a_wrong_secret_is_401(new_key, brand, tamper):
    forged = tamper(new_key.token)
    assert forged.startswith(new_key.api_key.prefix) and forged != new_key.token
    response = bearer_client(forged).get(connections_url(brand))
    assert response.status_code == 401
    assert response.json() == {"detail": INVALID_TOKEN}
    assert ApiKey.objects.get(pk=new_key.api_key.pk).last_used_at is None


def test_authorization_scheme_is_case_insensitive(new_key, brand):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"bearer {new_key.token}")
    assert client.get(connections_url(brand)).status_code == 200


@pytest.mark.parametrize(
    "junk",
    ["air_\x00" + "x" * 42, "air_é" + "x" * 42, "air_" + "x" * 5000, "air_x.y", "air_x%00"],
    ids=["nul", "non-ascii", "huge", "dot", "percent"],
)
def test_a_token_of_the_wrong_shape_is_401_without_a_query(brand, junk, django_assert_num_queries):
    # On PostgreSQL a NUL in the look-up used to fail in the database and answer 503.
    with django_assert_num_queries(0), pytest.raises(AuthenticationFailed):
        BearerTokenAuthentication.key_for_token(junk)
    response = bearer_client(junk).get(connections_url(brand))
    assert response.status_code == 401
    assert response.json() == {"detail": INVALID_TOKEN}
