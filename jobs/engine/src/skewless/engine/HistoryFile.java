package skewless.engine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.python.shaded.org.apache.arrow.memory.BufferAllocator;
import org.apache.flink.api.python.shaded.org.apache.arrow.memory.RootAllocator;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.BigIntVector;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.Float8Vector;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.IntVector;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.VarCharVector;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.connector.file.src.reader.SimpleStreamFormat;
import org.apache.flink.connector.file.src.reader.StreamFormat;
import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.Row;

/**
 * A staged history read straight into the engine's event rows: an Arrow IPC stream of events,
 * transactions and labels together, in time order (written by jobs/backfill.py, one column per
 * {@code ENGINE_COLUMNS} entry: kind int32, ids as strings, time and cents int64, lat and lon float64,
 * is_fraud int32).
 *
 * <p>One source in time order, not a table per kind: with two sources each read at its own pace, the
 * labels (a week of event time ahead of their transactions) waited in keyed state and timers until
 * the transactions caught up, which cost half the backfill. No SQL either: the planner's start-up
 * and the row conversion cost more than the reading. Arrow, not CSV: nothing to format on the
 * Python side or to parse here. A history in time order has nothing late, so the watermark follows
 * the newest row.
 */
public final class HistoryFile {
    private HistoryFile() {}

    public static DataStream<Row> read(StreamExecutionEnvironment env, String path) {
        FileSource<Row> events = FileSource.forRecordStreamFormat(new EventRows(), new Path(path)).build();
        WatermarkStrategy<Row> newest = WatermarkStrategy.<Row>forBoundedOutOfOrderness(Duration.ZERO)
            .withTimestampAssigner((row, previous) -> (Long) row.getField(Events.TIME));
        return env.fromSource(events, WatermarkStrategy.noWatermarks(), "history: " + path)
            .assignTimestampsAndWatermarks(newest).name("history: event time");
    }

    /** One event row at a time, from the stream's record batches in turn. */
    private static final class EventRows extends SimpleStreamFormat<Row> {
        private static final long serialVersionUID = 1L;

        @Override
        public StreamFormat.Reader<Row> createReader(Configuration config, FSDataInputStream stream) {
            BufferAllocator allocator = new RootAllocator();
            ArrowStreamReader reader = new ArrowStreamReader(stream, allocator);
            return new StreamFormat.Reader<Row>() {
                private VectorSchemaRoot batch;
                private int at;
                private boolean ended;

                /** Null at the end, and on every call after it (the file source asks again). */
                @Override
                public Row read() throws IOException {
                    while (!ended && (batch == null || at == batch.getRowCount())) {
                        ended = !reader.loadNextBatch();
                        batch = reader.getVectorSchemaRoot();
                        at = 0;
                    }
                    return ended ? null : row(batch, at++);
                }

                @Override
                public void close() throws IOException {
                    reader.close();
                    allocator.close();
                }
            };
        }

        private static Row row(VectorSchemaRoot batch, int i) {
            Row row = new Row(Events.FEATURES);
            row.setField(Events.KIND, ((IntVector) batch.getVector(Events.KIND)).get(i));
            row.setField(Events.TX_ID, text(batch, Events.TX_ID, i));
            row.setField(Events.CC_NUM, text(batch, Events.CC_NUM, i));
            row.setField(Events.MERCHANT_ID, text(batch, Events.MERCHANT_ID, i));
            row.setField(Events.TIME, ((BigIntVector) batch.getVector(Events.TIME)).get(i));
            row.setField(Events.CENTS, ((BigIntVector) batch.getVector(Events.CENTS)).getObject(i));
            row.setField(Events.LAT, ((Float8Vector) batch.getVector(Events.LAT)).getObject(i));
            row.setField(Events.LON, ((Float8Vector) batch.getVector(Events.LON)).getObject(i));
            row.setField(Events.IS_FRAUD, ((IntVector) batch.getVector(Events.IS_FRAUD)).getObject(i));
            return row;
        }

        private static String text(VectorSchemaRoot batch, int column, int i) {
            VarCharVector vector = (VarCharVector) batch.getVector(column);
            return vector.isNull(i) ? null : new String(vector.get(i), StandardCharsets.UTF_8);
        }

        @Override
        public TypeInformation<Row> getProducedType() {
            return Events.wideType(0);
        }
    }
}
