package skewless.engine;

import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.types.Row;
import org.apache.kafka.common.TopicPartition;

/**
 * Consumer lag per partition, as a gauge {@code skewless.topic.<t>.partition.<p>.consumer_lag_records}:
 * the broker's end offset minus the next offset this subtask will read, so 0 means caught up.
 *
 * <p>Flink's Kafka source reports offsets per partition but lag only per subtask, and its
 * committed offsets trail by a checkpoint. The end offsets are asked when a gauge is read (a
 * Prometheus scrape, a REST call), at most once a second and never from the task thread, so a
 * slow broker cannot slow the records; the task thread only notes each record's offset.
 */
public final class PartitionLag extends AbstractStreamOperator<Row> implements OneInputStreamOperator<Row, Row> {
    private static final long serialVersionUID = 1L;
    private static final long REFRESH_MS = 1000;
    private final String topic;
    private final Properties kafka;
    private transient Map<Integer, AtomicLong> nextOffsets;
    private transient Map<Integer, Long> ends;
    private transient long endsAt;
    private transient EndOffsets endOffsets;
    private transient MetricGroup group;

    PartitionLag(String topic, Properties kafka) {
        this.topic = topic;
        this.kafka = kafka;
    }

    static DataStream<Row> apply(DataStream<Row> rows, String topic, Properties kafka) {
        return rows.transform("lag per partition of " + topic, rows.getType(), new PartitionLag(topic, kafka));
    }

    @Override
    public void open() throws Exception {
        super.open();
        nextOffsets = new ConcurrentHashMap<>();
        ends = new ConcurrentHashMap<>();
        endOffsets = new EndOffsets(kafka);
        group = getMetricGroup().addGroup("skewless");
    }

    @Override
    public void processElement(StreamRecord<Row> record) {
        Row row = record.getValue();
        int partition = (Integer) row.getField(Received.PARTITION);
        AtomicLong next = nextOffsets.get(partition);
        if (next == null) {
            next = new AtomicLong();
            nextOffsets.put(partition, next);
            group.addGroup("topic", topic).addGroup("partition", Integer.toString(partition))
                .gauge("consumer_lag_records", (Gauge<Long>) () -> lag(partition));
        }
        next.lazySet((Long) row.getField(Received.OFFSET) + 1);
        output.collect(record);
    }

    /** Read by the metric reporter's thread. */
    private synchronized long lag(int partition) {
        long now = System.currentTimeMillis();
        if (now - endsAt >= REFRESH_MS) {
            endsAt = now;
            Map<TopicPartition, Long> answer = endOffsets.of(
                nextOffsets.keySet().stream().map(p -> new TopicPartition(topic, p)).collect(Collectors.toList()),
                Duration.ofSeconds(1));
            if (answer != null) {
                answer.forEach((tp, end) -> ends.put(tp.partition(), end));
            }
        }
        Long end = ends.get(partition);
        return end == null ? 0 : Math.max(0, end - nextOffsets.get(partition).get());
    }

    @Override
    public void close() throws Exception {
        endOffsets.close();
        super.close();
    }
}
