package skewless.engine;

import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
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
 * A staged history read straight into the engine's event rows: one CSV record per event, transactions
 * and labels together, in time order (written by jobs/backfill.py in {@code ENGINE_COLUMNS} order).
 *
 * <p>One source in time order, not a table per kind: with two sources each read at its own pace, the
 * labels (a week of event time ahead of their transactions) waited in keyed state and timers until
 * the transactions caught up, which cost half the backfill. No SQL either: the planner's start-up
 * and the row conversion cost more than the parsing. A history in time order has nothing late,
 * so the watermark follows the newest row.
 */
public final class HistoryFile {
    private HistoryFile() {}

    public static DataStream<Row> read(StreamExecutionEnvironment env, String path) {
        FileSource<String> lines = FileSource.forRecordStreamFormat(new Records(), new Path(path)).build();
        WatermarkStrategy<Row> newest = WatermarkStrategy.<Row>forBoundedOutOfOrderness(Duration.ZERO)
            .withTimestampAssigner((row, previous) -> (Long) row.getField(Events.TIME));
        return env.fromSource(lines, WatermarkStrategy.noWatermarks(), "history: " + path)
            .map(new Parse()).returns(Events.wideType(0)).name("history: parse")
            .assignTimestampsAndWatermarks(newest).name("history: event time");
    }

    /**
     * One CSV record at a time: a line, unless a quoted field holds a line break (an id may hold
     * any character the validation lets through, and it reaches the engine unchanged).
     */
    private static final class Records extends SimpleStreamFormat<String> {
        private static final long serialVersionUID = 1L;

        @Override
        public StreamFormat.Reader<String> createReader(Configuration config, FSDataInputStream stream) {
            java.io.Reader in = new InputStreamReader(stream, StandardCharsets.UTF_8);
            char[] buffer = new char[1 << 16];
            return new StreamFormat.Reader<String>() {
                private int at;
                private int end;

                @Override
                public String read() throws IOException {
                    StringBuilder record = new StringBuilder(128);
                    boolean quoted = false;
                    while (true) {
                        if (at == end) {
                            end = Math.max(in.read(buffer, 0, buffer.length), 0);
                            at = 0;
                            if (end == 0) {
                                return record.length() == 0 ? null : record.toString();
                            }
                        }
                        char c = buffer[at++];
                        if (c == '\n' && !quoted) {
                            return record.toString();
                        }
                        if (c == '"') {
                            quoted = !quoted;
                        }
                        record.append(c);
                    }
                }

                @Override
                public void close() throws IOException {
                    in.close();
                }
            };
        }

        @Override
        public TypeInformation<String> getProducedType() {
            return Types.STRING;
        }
    }

    /** Quoted strings ("" inside is a quote), bare numbers, and an empty bare field for null: how the staging writes them. */
    private static final class Parse implements MapFunction<String, Row> {
        private static final long serialVersionUID = 1L;

        @Override
        public Row map(String line) {
            String[] fields = split(line, Events.FEATURES);
            Row row = new Row(Events.FEATURES);
            row.setField(Events.KIND, Integer.valueOf(fields[Events.KIND]));
            row.setField(Events.TX_ID, fields[Events.TX_ID]);
            row.setField(Events.CC_NUM, fields[Events.CC_NUM]);
            row.setField(Events.MERCHANT_ID, fields[Events.MERCHANT_ID]);
            row.setField(Events.TIME, Long.valueOf(fields[Events.TIME]));
            row.setField(Events.CENTS, fields[Events.CENTS] == null ? null : Long.valueOf(fields[Events.CENTS]));
            row.setField(Events.LAT, fields[Events.LAT] == null ? null : Double.valueOf(fields[Events.LAT]));
            row.setField(Events.LON, fields[Events.LON] == null ? null : Double.valueOf(fields[Events.LON]));
            row.setField(Events.IS_FRAUD, fields[Events.IS_FRAUD] == null ? null : Integer.valueOf(fields[Events.IS_FRAUD]));
            return row;
        }

        static String[] split(String line, int count) {
            String[] fields = new String[count];
            int at = 0;
            for (int i = 0; i < count; i++) {
                if (at < line.length() && line.charAt(at) == '"') {
                    StringBuilder text = new StringBuilder();
                    at++;
                    while (true) {
                        int quote = line.indexOf('"', at);
                        text.append(line, at, quote);
                        at = quote + 1;
                        if (at < line.length() && line.charAt(at) == '"') {
                            text.append('"');
                            at++;
                        } else {
                            break;
                        }
                    }
                    fields[i] = text.toString();
                    at++;
                } else {
                    int comma = line.indexOf(',', at);
                    int end = comma < 0 ? line.length() : comma;
                    fields[i] = end == at ? null : line.substring(at, end);
                    at = end + 1;
                }
            }
            if (at <= line.length()) {
                throw new IllegalArgumentException("a staged history line has more than " + count + " fields: " + line);
            }
            return fields;
        }
    }
}
