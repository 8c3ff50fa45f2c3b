"""Settings: what `Settings.from_env` makes of the environment, and where Redis is."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from blocklist.errors import ConfigError
from blocklist.settings import EmbeddedRedis, Settings
from blocklist.values import replace


def test_a_configured_redis_is_used_everywhere() -> None:
    """With CALLSCREEN_REDIS_URL, the call path and the commands both use it as given."""
    url = "rediss://user:pw@db.example:6390/2"
    location = Settings.from_env({"CALLSCREEN_REDIS_URL": url}).redis
    assert location.call_path_url == url
    assert location.service_url() == url


def test_the_embedded_redis_is_described_once() -> None:
    """Without it, the embedded Redis lives in DATA_DIR/redis and on EMBEDDED_REDIS_PORT."""
    settings = Settings.from_env(
        {"CALLSCREEN_DATA_DIR": "/srv/cs", "CALLSCREEN_EMBEDDED_REDIS_PORT": "7001"}
    )
    assert settings.redis.embedded == EmbeddedRedis("/srv/cs/redis", 7001)
    assert settings.redis.embedded.socket_path == "/srv/cs/redis/redis.sock"
    assert settings.redis.call_path_url == "redis://127.0.0.1:7001/0"


def test_commands_refuse_an_embedded_redis_that_is_not_running(tmp_path: Path) -> None:
    """No socket in the data directory: the error says to start it or set the URL."""
    settings = Settings(data_dir=str(tmp_path))
    with pytest.raises(ConfigError, match=r"callscreen run.*CALLSCREEN_REDIS_URL") as caught:
        settings.redis.service_url()
    assert str(tmp_path / "redis" / "redis.sock") in str(caught.value)


def test_commands_reach_a_running_embedded_redis_through_its_socket(tmp_path: Path) -> None:
    """A socket in the data directory: the commands use it, by its absolute path."""
    (tmp_path / "redis").mkdir()
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(tmp_path / "redis" / "redis.sock"))
        url = Settings(data_dir=str(tmp_path)).redis.service_url()
    assert url == f"unix://{tmp_path}/redis/redis.sock"


def test_the_location_follows_a_changed_copy() -> None:
    """`Settings.redis` is computed, so a copy with another URL can't disagree with it."""
    settings = replace(Settings(), redis_url="redis://elsewhere:6379/0")
    assert settings.redis.call_path_url == "redis://elsewhere:6379/0"
