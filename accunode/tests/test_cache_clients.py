"""The Redis cache: one redis-py client per URL and process, however many cache objects Django makes."""

from __future__ import annotations

from django_redis.cache import RedisCache

OPTIONS = {"OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"}}


def test_cache_objects_of_one_process_share_the_redis_client(settings):
    settings.DJANGO_REDIS_CONNECTION_FACTORY = "accunode.cache_clients.SharedClientConnectionFactory"

    first, second = RedisCache("redis://127.0.0.1:6379/9", OPTIONS), RedisCache("redis://127.0.0.1:6379/9", OPTIONS)
    other_database = RedisCache("redis://127.0.0.1:6379/10", OPTIONS)

    assert first.client.get_client() is second.client.get_client()
    assert other_database.client.get_client() is not first.client.get_client()
    assert other_database.client.get_client().connection_pool.connection_kwargs["db"] == 10


def test_without_it_django_redis_builds_a_client_per_cache_object(settings):
    settings.DJANGO_REDIS_CONNECTION_FACTORY = "django_redis.pool.ConnectionFactory"

    first, second = RedisCache("redis://127.0.0.1:6379/9", OPTIONS), RedisCache("redis://127.0.0.1:6379/9", OPTIONS)

    assert first.client.get_client() is not second.client.get_client()
