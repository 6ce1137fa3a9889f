package skewless.engine;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.FilterFunction;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.types.Row;

/**
 * The feature engine: one keyed pass per entity, stages chained in the order given.
 *
 * <p>Input: rows of (kind, tx_id, cc_num, merchant_id, time, cents, lat, lon, is_fraud) with
 * watermarks. Output: one row per transaction, (tx_id, cc_num, merchant_id, event_time, amount,
 * then every feature, named and typed as {@code outputs} says) in declaration order, without watermarks: nothing after the engine is windowed,
 * and each watermark would end a Python bundle of the scoring step. Labels enter every stage with a label rate, keyed by the
 * same field as the transactions, and leave with it.
 */
public final class FeatureEngine {
    private FeatureEngine() {}

    /**
     * {@code stages}: one spec per entity (see {@link Spec}), separated by lines holding "--";
     * {@code outputs}: the features' names and types, "name:long,name:double,...".
     */
    public static DataStream<Row> build(DataStream<Row> events, String stages, String outputs) {
        Events.Outputs named = new Events.Outputs(outputs);
        int features = named.size();
        TypeInformation<Row> wide = Events.wideType(features);
        DataStream<Row> rows = events.map(new Widen(features)).returns(wide).name("features: read events");
        DataStream<Row> labels = rows.filter(r -> (Integer) r.getField(Events.KIND) == Events.LABEL).name("features: labels");
        DataStream<Row> current = rows.filter(r -> (Integer) r.getField(Events.KIND) == Events.TRANSACTION).name("features: transactions");
        for (String text : stages.split("\n--\n")) {
            Spec spec = Spec.parse(text);
            DataStream<Row> in = spec.usesLabels() ? current.union(labels) : current;
            current = in.keyBy(new FieldKey(spec.keyField), Utf8String.TYPE)
                .process(new EntityFeatures(spec, wide), wide)
                .name("features by " + (spec.keyField == Events.CC_NUM ? "cc_num" : "merchant_id"));
        }
        return current.map(new Project(named)).returns(named.type()).name("features: rows")
            .assignTimestampsAndWatermarks(WatermarkStrategy.noWatermarks()).name("features: no watermarks downstream");
    }

    /**
     * The engine's rows of transactions after {@code afterMs}: a stream that first reads a history (a
     * bootstrap) emits only what follows it. A DataStream filter, not a table one, so the planner cannot
     * move it past the scoring step.
     */
    public static DataStream<Row> after(DataStream<Row> rows, long afterMs) {
        return rows.filter(new After(afterMs)).name("features: after the bootstrap");
    }

    private static final class After implements FilterFunction<Row> {
        private static final long serialVersionUID = 1L;
        private static final int EVENT_TIME = java.util.Arrays.asList(Events.Outputs.KEYS).indexOf("event_time");
        private final long afterMs;

        After(long afterMs) {
            this.afterMs = afterMs;
        }

        @Override
        public boolean filter(Row row) {
            return (Long) row.getField(EVENT_TIME) > afterMs;
        }
    }

    /** The key of a stage: a string field of the row. */
    public static final class FieldKey implements KeySelector<Row, String> {
        private static final long serialVersionUID = 1L;
        private final int field;

        FieldKey(int field) {
            this.field = field;
        }

        @Override
        public String getKey(Row row) {
            return (String) row.getField(field);
        }
    }

    private static final class Widen implements MapFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final int features;

        Widen(int features) {
            this.features = features;
        }

        @Override
        public Row map(Row in) {
            Row wide = new Row(Events.FEATURES + features);
            for (int i = 0; i < Events.FEATURES; i++) {
                wide.setField(i, in.getField(i));
            }
            return wide;
        }
    }

    private static final class Project implements MapFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final Events.Outputs outputs;

        Project(Events.Outputs outputs) {
            this.outputs = outputs;
        }

        /** Counts and calendar flags are computed as exact doubles; they leave as the longs they are declared as. */
        @Override
        public Row map(Row in) {
            int keys = Events.Outputs.KEYS.length;
            Row out = new Row(keys + outputs.size());
            out.setField(0, in.getField(Events.TX_ID));
            out.setField(1, in.getField(Events.CC_NUM));
            out.setField(2, in.getField(Events.MERCHANT_ID));
            out.setField(3, in.getField(Events.TIME));
            out.setField(4, (Long) in.getField(Events.CENTS) / 100.0);
            for (int i = 0; i < outputs.size(); i++) {
                Double value = (Double) in.getField(Events.FEATURES + i);
                out.setField(keys + i, value != null && outputs.integer[i] ? (Object) value.longValue() : value);
            }
            return out;
        }
    }
}
