"""The serializer of the keyed steps' strings (`Utf8String.java`): what it writes reads back as the same string."""

import pytest
from pyflink.java_gateway import get_gateway

from jobs.flink_env import create_table_env

STRINGS = ["", "live1764960000000-0001", "caf\u00e9 \u00fc\u00df", "\u4e2d\u6587", "\U0001f4b3 card", "x" * 300, None]


@pytest.fixture(scope="module")
def jvm(settings):
    create_table_env(settings, "throughput")  # puts the engine's jar on the gateway's class loader
    return get_gateway().jvm


def _written(jvm, value) -> bytes:
    out = jvm.org.apache.flink.core.memory.DataOutputSerializer(64)
    jvm.skewless.engine.Utf8String.INSTANCE.serialize(value, out)
    return bytes(out.getCopyOfBuffer())


@pytest.mark.parametrize("value", STRINGS)
def test_a_string_reads_back_as_itself_and_copies_byte_for_byte(jvm, value):
    written = _written(jvm, value)
    serializer = jvm.skewless.engine.Utf8String.INSTANCE
    read = serializer.deserialize(jvm.org.apache.flink.core.memory.DataInputDeserializer(written))
    assert read == value
    copied = jvm.org.apache.flink.core.memory.DataOutputSerializer(64)
    serializer.copy(jvm.org.apache.flink.core.memory.DataInputDeserializer(written), copied)
    assert bytes(copied.getCopyOfBuffer()) == written


def test_the_format_is_a_varint_length_then_the_utf8_bytes(jvm):
    assert _written(jvm, None) == b"\x00"
    assert _written(jvm, "") == b"\x01"
    assert _written(jvm, "caf\u00e9") == b"\x06caf\xc3\xa9"
    assert _written(jvm, "x" * 300) == b"\xad\x02" + b"x" * 300  # 301 as a varint
