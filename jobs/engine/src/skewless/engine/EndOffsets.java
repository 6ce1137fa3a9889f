package skewless.engine;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker's end offsets for partitions a source reads, asked by a consumer of its own that joins
 * no group. An unanswered question is {@code null}, never an exception: what depends on the answer
 * (releasing event time, reporting lag) waits or keeps its last value rather than failing the task.
 */
final class EndOffsets implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EndOffsets.class);
    private final Properties kafka;
    private KafkaConsumer<byte[], byte[]> consumer;

    /** {@code kafka}: the source's consumer properties (servers, security). */
    EndOffsets(Properties kafka) {
        this.kafka = kafka;
    }

    /** The end offset of each partition, or null when the broker did not answer within {@code timeout}. */
    synchronized Map<TopicPartition, Long> of(Collection<TopicPartition> partitions, Duration timeout) {
        try {
            if (consumer == null) {
                // Instances, not class names: Kafka would load a named class through the thread's context
                // class loader, which on a cluster is not the job's, and then refuse it as a Deserializer.
                consumer = new KafkaConsumer<>(kafka, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            }
            return consumer.endOffsets(partitions, timeout);
        } catch (KafkaException e) {
            LOG.warn("could not ask the broker for end offsets: {}", e.toString());
            return null;
        }
    }

    @Override
    public synchronized void close() {
        if (consumer != null) {
            consumer.close(Duration.ZERO);
            consumer = null;
        }
    }
}
