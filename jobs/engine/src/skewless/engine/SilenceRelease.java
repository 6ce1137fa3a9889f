package skewless.engine;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.operators.ProcessingTimeService.ProcessingTimeCallback;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.io.network.api.writer.ResultPartitionWriter;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.types.Row;
import org.apache.kafka.common.TopicPartition;

/**
 * The rule that moves event time during silence: when a source subtask has read no record for
 * {@code silenceMs} of processing time, and has read every partition it reads to its end, its
 * watermark moves to the newest event time it has read.
 *
 * <p>Event time otherwise moves only with events: the last rows before a pause would wait for the
 * next event, however long it takes. After a release, a row at or before the released time is late,
 * exactly as if the watermark had moved with traffic, and is set aside by the late split that
 * follows. Forwarded watermarks never step back. The subtask is not marked idle: an idle label
 * source would let the transactions' watermark run ahead of labels it has not delivered yet.
 *
 * <p>Silence is not the end of the data. A subtask reading a backlog can go quiet for a moment
 * (a slow fetch, a busy broker) with one partition seconds of event time behind another; releasing
 * then made the slow partition's next rows late, about half a backlog drained at -p 2. So the
 * release waits until the source has emitted a watermark, which it does only once every partition
 * it reads has delivered a record (or, for labels, gone idle), then asks the broker for the end
 * offsets of the partitions read, and waits while any has more.
 * Backpressure is not silence either: while the task cannot hand records on, the source reads nothing
 * because it is not allowed to; the silence clock restarts until the output is free again.
 */
public class SilenceRelease extends AbstractStreamOperator<Row> implements OneInputStreamOperator<Row, Row>, ProcessingTimeCallback {
    private static final long serialVersionUID = 1L;
    private final long silenceMs;
    private final Properties kafka;
    private transient long newest;
    private transient long forwarded;
    private transient long lastRecordAt;
    private transient boolean everyPartitionRead;
    private transient Map<TopicPartition, Long> nextOffsets;
    private transient EndOffsets ends;

    /** {@code kafka}: the source's consumer properties (servers, security), to ask for end offsets with. */
    public SilenceRelease(long silenceMs, Properties kafka) {
        this.silenceMs = silenceMs;
        this.kafka = kafka;
    }

    /** The stream with the rule applied ({@code silenceMs} > 0). */
    public static DataStream<Row> apply(DataStream<Row> rows, long silenceMs, Properties kafka) {
        TypeInformation<Row> type = rows.getType();
        return rows.transform("release event time after " + silenceMs + " ms of silence", type, new SilenceRelease(silenceMs, kafka));
    }

    @Override
    public void open() throws Exception {
        super.open();
        newest = Long.MIN_VALUE;
        forwarded = Long.MIN_VALUE;
        nextOffsets = new HashMap<>();
        ends = new EndOffsets(kafka);
        lastRecordAt = getProcessingTimeService().getCurrentProcessingTime();
        schedule(lastRecordAt);
    }

    private void schedule(long now) {
        getProcessingTimeService().registerTimer(now + Math.max(1, silenceMs / 4), this);
    }

    @Override
    public void processElement(StreamRecord<Row> record) {
        if (record.hasTimestamp()) {
            newest = Math.max(newest, record.getTimestamp());
        }
        Row row = record.getValue();
        nextOffsets.put(new TopicPartition((String) row.getField(Received.TOPIC), (Integer) row.getField(Received.PARTITION)),
            (Long) row.getField(Received.OFFSET) + 1);
        lastRecordAt = getProcessingTimeService().getCurrentProcessingTime();
        output.collect(record);
    }

    @Override
    public void processWatermark(Watermark mark) {
        everyPartitionRead = true;
        if (mark.getTimestamp() > forwarded) {
            forwarded = mark.getTimestamp();
            output.emitWatermark(mark);
        }
    }

    private boolean backpressured() {
        for (ResultPartitionWriter writer : getContainingTask().getEnvironment().getAllWriters()) {
            if (!writer.isAvailable()) {
                return true;
            }
        }
        return false;
    }

    /** Every partition read is read to its end; an unanswered question counts as no. */
    private boolean readToEnd() {
        Map<TopicPartition, Long> answer = ends.of(nextOffsets.keySet(), Duration.ofMillis(Math.max(silenceMs, 1000)));
        if (answer == null) {
            return false;
        }
        for (Map.Entry<TopicPartition, Long> end : answer.entrySet()) {
            if (nextOffsets.get(end.getKey()) < end.getValue()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void onProcessingTime(long now) {
        if (backpressured()) {
            lastRecordAt = now;
        } else if (now - lastRecordAt >= silenceMs && newest > forwarded && everyPartitionRead) {
            if (readToEnd()) {
                forwarded = newest;
                output.emitWatermark(new Watermark(newest));
            } else {
                lastRecordAt = now;
            }
        }
        schedule(getProcessingTimeService().getCurrentProcessingTime());
    }

    @Override
    public void close() throws Exception {
        ends.close();
        super.close();
    }
}
