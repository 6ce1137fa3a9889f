package skewless.engine;

import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.RowTypeInfo;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drift per window of event time: every scored row is binned with the reference of the model
 * version that scored it (edges and per-hour shares stored in the registry, models/drift.py), and
 * once the scores' event time has passed a window's end by the grace period, the window's
 * population stability index per column is computed and emitted as one JSON record per version.
 *
 * <p>The rules are models/drift.py's: a value goes to the bin after every edge it reaches, a missing
 * value to a bin of its own, the expected shares are the mean over the hours of the day the window
 * spans, and each share is at least 1e-4. Counts are Flink state, so a restarted job continues its
 * open windows. The scores carry no watermark (jobs/feature_engine.py), so windows close on the
 * newest event time seen: a row for a window already closed is counted as late, not lost silently.
 */
public final class DriftWindows extends KeyedProcessFunction<Integer, Row, Row> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(DriftWindows.class);
    private static final long HOUR_MS = 3_600_000L;
    private static final double FLOOR = 1e-4;
    static final String SCORE = "score";

    private final String registry;
    private final String[] columns;
    private final int[] positions;
    private final int eventTime;
    private final int version;
    private final long windowMs;
    private final long graceMs;
    private final double threshold;
    private final long minRows;

    private transient MapState<String, long[]> counts;
    private transient ValueState<Long> newest;
    private transient Map<String, Reference> references;
    private transient Map<String, Double> lastPsi;
    private transient Counter windows;
    private transient Counter drifted;
    private transient Counter late;
    private transient ObjectMapper json;

    private DriftWindows(String registry, String[] columns, int[] positions, int eventTime, int version, long windowMs,
                         long graceMs, double threshold, long minRows) {
        this.registry = registry;
        this.columns = columns;
        this.positions = positions;
        this.eventTime = eventTime;
        this.version = version;
        this.windowMs = windowMs;
        this.graceMs = graceMs;
        this.threshold = threshold;
        this.minRows = minRows;
    }

    /**
     * {@code columns}: comma-separated names of the drift columns and "score", and {@code positions}
     * their fields in a score row; returns (k, v) rows for the drift topic, key the window start.
     */
    public static DataStream<Row> of(DataStream<Row> scores, String registry, String columns, int[] positions, int eventTime,
                                     int version, long windowMs, long graceMs, double threshold, long minRows) {
        DriftWindows function = new DriftWindows(registry, columns.split(","), positions, eventTime, version, windowMs,
            graceMs, threshold, minRows);
        return scores.keyBy(row -> 0, Types.INT).process(function, outputType()).name("drift: PSI per window").setParallelism(1);
    }

    static TypeInformation<Row> outputType() {
        return new RowTypeInfo(new TypeInformation<?>[] {PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO,
            PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO}, new String[] {"k", "v"});
    }

    @Override
    public void open(OpenContext context) {
        counts = getRuntimeContext().getMapState(new MapStateDescriptor<>("drift-counts", Types.STRING,
            PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO));
        newest = getRuntimeContext().getState(new ValueStateDescriptor<>("drift-newest", Types.LONG));
        references = new HashMap<>();
        lastPsi = new HashMap<>();
        json = new ObjectMapper();
        MetricGroup group = getRuntimeContext().getMetricGroup().addGroup("skewless");
        windows = group.counter("drift_windows_total");
        drifted = group.counter("drift_windows_drifted_total");
        late = group.counter("drift_rows_late_total");
        for (String column : columns) {
            group.addGroup("feature", column).gauge("drift_psi", (Gauge<Double>) () -> lastPsi.getOrDefault(column, 0.0));
        }
    }

    @Override
    public void processElement(Row row, Context ctx, Collector<Row> out) throws Exception {
        long time = ((Number) row.getField(eventTime)).longValue();
        String model = (String) row.getField(version);
        long start = Math.floorDiv(time, windowMs) * windowMs;
        Long seen = newest.value();
        if (seen != null && start + windowMs + graceMs <= seen) {
            late.inc();
            return;
        }
        Reference reference = reference(model);
        if (reference != null) {
            String key = start + "/" + model;
            long[] tally = counts.get(key);
            if (tally == null) {
                tally = new long[reference.width];
            }
            reference.count(row, positions, tally);
            counts.put(key, tally);
        }
        if (seen == null || time > seen) {
            newest.update(time);
            close(time, out);
        }
    }

    private void close(long now, Collector<Row> out) throws Exception {
        List<String> done = new ArrayList<>();
        for (String key : counts.keys()) {
            long start = Long.parseLong(key.substring(0, key.indexOf('/')));
            if (start + windowMs + graceMs <= now) {
                done.add(key);
            }
        }
        done.sort((a, b) -> Long.compare(Long.parseLong(a.substring(0, a.indexOf('/'))), Long.parseLong(b.substring(0, b.indexOf('/')))));
        for (String key : done) {
            long start = Long.parseLong(key.substring(0, key.indexOf('/')));
            String model = key.substring(key.indexOf('/') + 1);
            out.collect(record(start, model, counts.get(key)));
            counts.remove(key);
        }
    }

    private Row record(long start, String model, long[] tally) throws IOException {
        Reference reference = references.get(model);
        double[] psi = reference.psi(tally, start, start + windowMs);
        long rows = reference.rows(tally);
        ObjectNode byColumn = json.createObjectNode();
        String top = null;
        double topPsi = 0.0;
        for (int c = 0; c < columns.length; c++) {
            double value = psi[c];
            lastPsi.put(columns[c], value);
            if (!columns[c].equals(SCORE)) {
                byColumn.put(columns[c], value);
                if (top == null || value > topPsi) {
                    top = columns[c];
                    topPsi = value;
                }
            }
        }
        double scorePsi = lastPsi.getOrDefault(SCORE, 0.0);
        boolean isDrift = rows >= minRows && (scorePsi > threshold || topPsi > threshold);
        windows.inc();
        if (isDrift) {
            drifted.inc();
        }
        ObjectNode value = json.createObjectNode();
        value.put("window_start", start).put("window_end", start + windowMs).put("model_version", model).put("rows", rows)
            .put("score_psi", scorePsi).put("top_feature", top).put("top_psi", topPsi).put("threshold", threshold)
            .put("min_rows", minRows).put("drifted", isDrift).put("emitted_at", System.currentTimeMillis());
        value.set("psi", byColumn);
        return Row.of(Long.toString(start).getBytes(StandardCharsets.UTF_8), json.writeValueAsBytes(value));
    }

    private Reference reference(String model) {
        if (!references.containsKey(model)) {
            references.put(model, Reference.read(registry, model, columns));
        }
        return references.get(model);
    }

    /** One version's bins: per column the edges, and the shares of each bin per hour of the day. */
    static final class Reference implements Serializable {
        private static final long serialVersionUID = 1L;
        final double[][] edges;
        final double[][][] shares;
        final int[] offsets;
        final int width;

        private Reference(double[][] edges, double[][][] shares) {
            this.edges = edges;
            this.shares = shares;
            this.offsets = new int[edges.length];
            int total = 0;
            for (int c = 0; c < edges.length; c++) {
                offsets[c] = total;
                total += edges[c].length + 2;
            }
            this.width = total;
        }

        /** The version's reference, or null (logged once) when it has none: it was saved before drift was measured. */
        static Reference read(String registry, String model, String[] columns) {
            try {
                JsonNode reference = ModelMetaFile.read(registry, model).path("reference");
                double[][] edges = new double[columns.length][];
                double[][][] shares = new double[columns.length][][];
                for (int c = 0; c < columns.length; c++) {
                    JsonNode bins = reference.get(columns[c]);
                    if (bins == null) {
                        LOG.warn("model {} in {} has no drift reference for {}: retrain it with `skewless train` to measure drift", model, registry, columns[c]);
                        return null;
                    }
                    edges[c] = ModelMetaFile.JSON.treeToValue(bins.get("edges"), double[].class);
                    shares[c] = ModelMetaFile.JSON.treeToValue(bins.get("proportions_by_hour"), double[][].class);
                }
                return new Reference(edges, shares);
            } catch (IOException e) {
                LOG.warn("cannot read the drift reference of model {} in {}: {}", model, registry, e.toString());
                return null;
            }
        }

        void count(Row row, int[] positions, long[] tally) {
            for (int c = 0; c < edges.length; c++) {
                Object value = row.getField(positions[c]);
                double x = value == null ? Double.NaN : ((Number) value).doubleValue();
                tally[offsets[c] + bin(edges[c], x)]++;
            }
        }

        long rows(long[] tally) {
            long n = 0;
            for (int b = 0; b < edges[0].length + 2; b++) {
                n += tally[b];
            }
            return n;
        }

        /** Per column, its PSI over the window [start, end). */
        double[] psi(long[] tally, long start, long end) {
            double[] result = new double[edges.length];
            long rows = rows(tally);
            for (int c = 0; c < edges.length; c++) {
                double[] expected = expected(shares[c], start, end);
                double sum = 0.0;
                for (int b = 0; b < expected.length; b++) {
                    double o = Math.max((double) tally[offsets[c] + b] / Math.max(rows, 1), FLOOR);
                    double e = Math.max(expected[b], FLOOR);
                    sum += (o - e) * Math.log(o / e);
                }
                result[c] = sum;
            }
            return result;
        }

        static int bin(double[] edges, double x) {
            if (Double.isNaN(x)) {
                return edges.length + 1;
            }
            int lo = 0;
            int hi = edges.length;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (edges[mid] <= x) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return lo;
        }

        static double[] expected(double[][] byHour, long start, long end) {
            boolean[] hours = new boolean[24];
            for (long t = start; t < Math.max(end, start + 1); t += HOUR_MS) {
                hours[(int) Math.floorMod(Math.floorDiv(t, HOUR_MS), 24L)] = true;
            }
            double[] mean = new double[byHour[0].length];
            int n = 0;
            for (int h = 0; h < 24; h++) {
                if (hours[h]) {
                    n++;
                    for (int b = 0; b < mean.length; b++) {
                        mean[b] += byHour[h][b];
                    }
                }
            }
            for (int b = 0; b < mean.length; b++) {
                mean[b] /= n;
            }
            return mean;
        }
    }
}
