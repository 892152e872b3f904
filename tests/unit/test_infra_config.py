"""Topic declarations and Java discovery, without starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from pizza_common.events import ORDER_PLACED, ORDER_READY, dead_letter_topic
from pizza_infra.config import InfraError, InfraSettings
from pizza_infra.java import find_java
from pizza_infra.kafka_server import server_properties
from pizza_infra.platform import circus_ini
from pizza_infra.services import PlatformSettings
from pizza_infra.topics import load_topics


def test_event_topics_have_six_partitions_and_dead_letter_topics() -> None:
    specs = {spec.name: spec for spec in load_topics(InfraSettings())}
    for topic in (ORDER_PLACED, ORDER_READY):
        assert specs[topic].partitions == 6
        assert dead_letter_topic(topic) in specs


def test_replication_factor_can_be_overridden_for_a_cluster() -> None:
    specs = load_topics(InfraSettings(topic_replication_factor=3))
    assert {spec.replication_factor for spec in specs} == {3}


def test_a_broken_topic_file_is_reported_clearly(tmp_path: Path) -> None:
    broken = tmp_path / "topics.toml"
    broken.write_text('[[topic]]\nname = "x"\n')
    with pytest.raises(InfraError, match="not a valid topic list"):
        load_topics(InfraSettings(), broken)


def test_a_missing_java_is_one_clear_sentence() -> None:
    with pytest.raises(InfraError, match=r"needs Java 999 or newer.*Install a JDK 999\+"):
        find_java(999, "A future server")


def test_broker_listens_on_loopback_only() -> None:
    props = server_properties(InfraSettings(kafka_port=1234), Path("/data"))
    listeners = next(line for line in props.splitlines() if line.startswith("listeners="))
    assert listeners == "listeners=PLAINTEXT://127.0.0.1:1234,CONTROLLER://127.0.0.1:9093"
    assert "auto.create.topics.enable=false" in props


def test_order_svc_is_pointed_at_the_payment_port_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDER_PAYMENT_URL", raising=False)
    ini = circus_ini(PlatformSettings(payment_port=28002, kitchens=2), InfraSettings())
    order_env = ini.split("[env:order]")[1].split("[")[0]
    assert "ORDER_PAYMENT_URL = http://127.0.0.1:28002" in order_env
    assert "numprocesses = 2" in ini.split("[watcher:kitchen]")[1].split("[")[0]
    assert "$(circus.wid)" in ini
