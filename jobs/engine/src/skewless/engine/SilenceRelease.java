package skewless.engine;

import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.operators.ProcessingTimeService.ProcessingTimeCallback;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.io.network.api.writer.ResultPartitionWriter;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.types.Row;

/**
 * The rule that moves event time during silence: when a source subtask has read no record for
 * {@code silenceMs} of processing time, its watermark moves to the oldest of its partitions' newest
 * event times: each partition as far as it has itself been read, never further.
 *
 * <p>A subtask reads several partitions, each at its own point in event time (a backlog is read
 * partition by partition, in fetches). Moving all of them to the newest time of any one would make
 * the lagging partitions' next records late, though they are in order.
 *
 * <p>Event time otherwise moves only with events: the last rows before a pause would wait for the
 * next event, however long it takes. After a release, a row at or before the released time is late,
 * exactly as if the watermark had moved with traffic, and is set aside by the late split that
 * follows. Forwarded watermarks never step back. The subtask is not marked idle: an idle label
 * source would let the transactions' watermark run ahead of labels it has not delivered yet.
 *
 * <p>Backpressure is not silence: while the task cannot hand records on (no output buffer free),
 * the source reads nothing because it is not allowed to, and its partitions may be at different
 * points in event time. The silence clock restarts until the output is free again.
 */
public class SilenceRelease extends AbstractStreamOperator<Row> implements OneInputStreamOperator<Row, Row>, ProcessingTimeCallback {
    private static final long serialVersionUID = 1L;
    private final long silenceMs;
    private transient Map<Integer, Long> newest;
    private transient long forwarded;
    private transient long lastRecordAt;

    public SilenceRelease(long silenceMs) {
        this.silenceMs = silenceMs;
    }

    /** The stream of {@link Received} rows with the rule applied ({@code silenceMs} > 0). */
    public static DataStream<Row> apply(DataStream<Row> rows, long silenceMs) {
        TypeInformation<Row> type = rows.getType();
        return rows.transform("release event time after " + silenceMs + " ms of silence", type, new SilenceRelease(silenceMs));
    }

    @Override
    public void open() throws Exception {
        super.open();
        newest = new HashMap<>();
        forwarded = Long.MIN_VALUE;
        lastRecordAt = getProcessingTimeService().getCurrentProcessingTime();
        schedule(lastRecordAt);
    }

    private void schedule(long now) {
        getProcessingTimeService().registerTimer(now + Math.max(1, silenceMs / 4), this);
    }

    @Override
    public void processElement(StreamRecord<Row> record) {
        long time = Received.time(record.getValue());
        if (time != Long.MIN_VALUE) {
            newest.merge((Integer) record.getValue().getField(Received.PARTITION), time, Math::max);
        }
        lastRecordAt = getProcessingTimeService().getCurrentProcessingTime();
        output.collect(record);
    }

    @Override
    public void processWatermark(Watermark mark) {
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

    @Override
    public void onProcessingTime(long now) {
        if (backpressured()) {
            lastRecordAt = now;
        } else if (now - lastRecordAt >= silenceMs && !newest.isEmpty()) {
            long released = newest.values().stream().min(Long::compare).get();
            if (released > forwarded) {
                forwarded = released;
                output.emitWatermark(new Watermark(released));
            }
        }
        schedule(now);
    }
}
