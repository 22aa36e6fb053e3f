#!/usr/bin/env python3
"""A Kafka client for the tests, independent of the function's code: confluent-kafka (librdkafka
from PyPI) for the admin calls and the producer, and confluent-kafka's AvroSerializer for
registry-framed values.

  client.py create BOOTSTRAP TOPIC PARTITIONS [CONFIG=VALUE...]
  client.py produce BOOTSTRAP TOPIC < records.json
      records: [{"partition": 0, "key": b64|null, "value": b64|null, "headers": [[name, b64|null]]}]
      prints the records as produced, each with its "offset" and "timestamp"
  client.py avro BOOTSTRAP TOPIC REGISTRY_URL COUNT
      Avro orders (tests/registry/produce.py's schema) framed by AvroSerializer; prints them with
      the JSON the function should show ("expected"), "offset" and "value" (base64)
  client.py committed BOOTSTRAP GROUP TOPIC
      prints {"partition": committed offset or null}
  client.py consume BOOTSTRAP TOPIC COUNT
      prints the first COUNT records of the topic (key, value, headers in base64) in offset order
"""

import base64
import json
import os
import sys
import uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

HERE = os.path.dirname(os.path.abspath(__file__))


def b64(data):
    return None if data is None else base64.b64encode(data).decode()


def unb64(text):
    return None if text is None else base64.b64decode(text)


def create(bootstrap, topic, partitions, *configs):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    config = dict(c.split("=", 1) for c in configs)
    futures = admin.create_topics([NewTopic(topic, int(partitions), 1, config=config)], operation_timeout=30)
    for future in futures.values():
        future.result()


def produce_all(bootstrap, topic, records):
    producer = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 16_000_000,
                         "linger.ms": 5, "enable.idempotence": True})
    produced = [None] * len(records)

    def report(i):
        def done(err, message):
            if err is not None:
                raise KafkaException(err)
            produced[i] = (message.offset(), message.timestamp()[1])
        return done

    for i, r in enumerate(records):
        headers = [(n, unb64(v)) for n, v in r.get("headers") or []]
        producer.produce(topic, key=unb64(r.get("key")), value=unb64(r.get("value")),
                         partition=r.get("partition", 0), headers=headers or None, on_delivery=report(i))
        producer.poll(0)
    assert producer.flush(60) == 0, "every record delivered"
    out = []
    for r, (offset, timestamp) in zip(records, produced):
        out.append(dict(r, topic=topic, offset=offset, timestamp=timestamp))
    return out


def produce(bootstrap, topic):
    print(json.dumps(produce_all(bootstrap, topic, json.load(sys.stdin))))


def avro(bootstrap, topic, registry_url, count):
    sys.path.insert(0, os.path.join(HERE, "..", "registry"))
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    from produce import ORDER, avro_expected, order

    client = SchemaRegistryClient({"url": registry_url})
    serializer = AvroSerializer(client, json.dumps(ORDER), lambda o, ctx: o)
    records, expected = [], []
    for i in range(int(count)):
        value = serializer(order(i if i != 3 else 5), SerializationContext(topic, MessageField.VALUE))
        records.append({"partition": 0, "key": b64(f"order-{i}".encode()), "value": b64(value)})
        expected.append(avro_expected(ORDER, value[5:]))
    out = produce_all(bootstrap, topic, records)
    for r, e in zip(out, expected):
        r["expected"] = e
    print(json.dumps(out))


def committed(bootstrap, group, topic):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    partitions = [TopicPartition(topic, p) for p in sorted(metadata.partitions)]
    result = {}
    for tp in consumer.committed(partitions, timeout=10):
        result[str(tp.partition)] = tp.offset if tp.offset >= 0 else None
    consumer.close()
    print(json.dumps(result))


def consume(bootstrap, topic, count):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    out = []
    while len(out) < int(count):
        message = consumer.poll(30)
        assert message is not None, f"only {len(out)} of {count} records arrived"
        if message.error():
            raise KafkaException(message.error())
        out.append({"partition": message.partition(), "offset": message.offset(), "key": b64(message.key()),
                    "value": b64(message.value()),
                    "headers": [[n, b64(v)] for n, v in (message.headers() or [])]})
    consumer.close()
    print(json.dumps(out))


if __name__ == "__main__":
    {"create": create, "produce": produce, "avro": avro, "committed": committed, "consume": consume}[sys.argv[1]](*sys.argv[2:])
