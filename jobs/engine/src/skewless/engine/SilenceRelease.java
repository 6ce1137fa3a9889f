package skewless.engine;

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
 * {@code silenceMs} of processing time, its watermark moves to the newest event time it has read.
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
    private transient long newest;
    private transient long forwarded;
    private transient long lastRecordAt;

    public SilenceRelease(long silenceMs) {
        this.silenceMs = silenceMs;
    }

    /** The stream with the rule applied ({@code silenceMs} > 0). */
    public static DataStream<Row> apply(DataStream<Row> rows, long silenceMs) {
        TypeInformation<Row> type = rows.getType();
        return rows.transform("release event time after " + silenceMs + " ms of silence", type, new SilenceRelease(silenceMs));
    }

    @Override
    public void open() throws Exception {
        super.open();
        newest = Long.MIN_VALUE;
        forwarded = Long.MIN_VALUE;
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
        } else if (now - lastRecordAt >= silenceMs && newest > forwarded) {
            forwarded = newest;
            output.emitWatermark(new Watermark(newest));
        }
        schedule(now);
    }
}
