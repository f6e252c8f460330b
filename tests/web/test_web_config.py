"""`[web] listen`: off by default, HOST:PORT when set, a clear problem when it cannot be one."""

from __future__ import annotations

import pytest

from milestoned.shared.config import ConfigError, load_config


def test_off_by_default_and_read_from_the_environment() -> None:
    assert load_config(None, {}).web.listen == ""
    config = load_config(None, {"MILESTONED_WEB_LISTEN": "[::1]:8080"})
    assert config.web.address() == ("::1", 8080)


@pytest.mark.parametrize("listen", ["8080", "localhost", "127.0.0.1:http", "127.0.0.1:70000", ":8080"])
def test_a_listen_that_is_not_host_port_is_refused_with_the_fix(listen: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(None, {"MILESTONED_WEB_LISTEN": listen})
    assert any(p.startswith("web.listen:") and "127.0.0.1:8080" in p for p in refused.value.problems)
