package skewless.engine;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;

/**
 * One input topic read as raw bytes: each message is checked against the rules where it is read,
 * so a message that is not JSON, or breaks a rule, is a row like any other, never an exception.
 *
 * <p>Event time is the valid messages' own: each partition's watermark follows its newest valid
 * event time minus the allowed lateness and moves with every message (no timer to wait for), so
 * which records are late depends only on what arrived before them. A refused message has no event
 * time and moves nothing.
 */
public final class KafkaInput {
    private KafkaInput() {}

    /**
     * {@code offsets}: "partition:offset;..." or empty; {@code start} empty means the consumer group's
     * committed offsets (earliest for a new group); {@code stop} empty means unbounded.
     */
    public static DataStream<Row> read(
        StreamExecutionEnvironment env, String rulesSpec, String servers, String topic, Map<String, String> properties,
        String start, String stop, long latenessMs, long idleMs, long silenceMs
    ) {
        KafkaSourceBuilder<Row> builder = KafkaSource.<Row>builder()
            .setBootstrapServers(servers)
            .setTopics(topic)
            .setDeserializer(new Deserializer(Rules.parse(rulesSpec), topic))
            .setStartingOffsets(start.isEmpty()
                ? OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST)
                : OffsetsInitializer.offsets(offsets(topic, start)));
        for (Map.Entry<String, String> property : properties.entrySet()) {
            builder.setProperty(property.getKey(), property.getValue());
        }
        if (!stop.isEmpty()) {
            builder.setBounded(OffsetsInitializer.offsets(offsets(topic, stop)));
        }
        WatermarkStrategy<Row> strategy = WatermarkStrategy.<Row>forGenerator(ctx -> new OnEvent(latenessMs))
            .withTimestampAssigner((row, kafkaTime) -> Received.time(row));
        if (idleMs > 0) {
            strategy = strategy.withIdleness(Duration.ofMillis(idleMs));
        }
        Properties endOffsets = endOffsetProperties(servers, properties);
        DataStream<Row> rows = PartitionLag.apply(
            env.fromSource(builder.build(), strategy, "kafka: " + topic).returns(Received.type()), topic, endOffsets);
        return silenceMs > 0 ? SilenceRelease.apply(rows, silenceMs, endOffsets) : rows;
    }

    /** What a consumer that only asks for end offsets needs of the source's: the servers and how to reach them. */
    private static Properties endOffsetProperties(String servers, Map<String, String> properties) {
        Properties kafka = new Properties();
        kafka.putAll(properties);
        kafka.remove("group.id");
        kafka.remove("client.id.prefix");
        kafka.put("bootstrap.servers", servers);
        kafka.put("client.id", properties.getOrDefault("client.id.prefix", "skewless") + "-end-offsets");
        return kafka;
    }

    private static Map<TopicPartition, Long> offsets(String topic, String text) {
        Map<TopicPartition, Long> offsets = new HashMap<>();
        for (String pair : text.split(";")) {
            String[] parts = pair.split(":");
            offsets.put(new TopicPartition(topic, Integer.parseInt(parts[0])), Long.parseLong(parts[1]));
        }
        return offsets;
    }

    private static final class Deserializer implements KafkaRecordDeserializationSchema<Row> {
        private static final long serialVersionUID = 1L;
        private final Rules rules;
        private final String topic;
        private transient Counter recordsIn;

        Deserializer(Rules rules, String topic) {
            this.rules = rules;
            this.topic = topic;
        }

        /** skewless.topic.<topic>.records_in_total: every message read, valid or not (dead letters are counted per rule). */
        @Override
        public void open(DeserializationSchema.InitializationContext context) {
            recordsIn = context.getMetricGroup().addGroup("skewless").addGroup("topic", topic).counter("records_in_total");
        }

        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<Row> out) {
            recordsIn.inc();
            Object verdict = rules.check(record.value(), record.timestamp());
            out.collect(Received.of(verdict, record.key(), record.value(), record.topic(), record.partition(),
                record.offset(), record.timestamp()));
        }

        @Override
        public TypeInformation<Row> getProducedType() {
            return Received.type();
        }
    }

    /** The watermark at the newest valid event time minus the allowed lateness, emitted as soon as it moves. */
    private static final class OnEvent implements WatermarkGenerator<Row> {
        private final long latenessMs;
        private long newest = Long.MIN_VALUE;

        OnEvent(long latenessMs) {
            this.latenessMs = latenessMs;
        }

        @Override
        public void onEvent(Row row, long time, WatermarkOutput output) {
            if (time != Long.MIN_VALUE && time > newest) {
                newest = time;
                output.emitWatermark(new Watermark(newest - latenessMs));
            }
        }

        @Override
        public void onPeriodicEmit(WatermarkOutput output) {}
    }
}
