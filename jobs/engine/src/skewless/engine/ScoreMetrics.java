package skewless.engine;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.types.Row;

/**
 * What the scores say about the running loop, as Flink metrics (exported by the Prometheus reporter
 * when it is on): records out to the scores topic, scores per model version, alerts and the alert
 * rate over the last {@code RATE_WINDOW} scores, event-to-score latency as a histogram, and the
 * serving model's version and age. A pass-through: each row leaves as it came.
 */
public final class ScoreMetrics extends RichMapFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private static final int RATE_WINDOW = 10_000;
    private static final int HISTOGRAM_WINDOW = 10_000;

    private final String registry;
    private final String topic;
    private final int eventTime;
    private final int scoredAt;
    private final int version;
    private final int decision;

    private transient MetricGroup group;
    private transient Counter out;
    private transient Counter alerts;
    private transient Histogram latency;
    private transient Map<String, Counter> perVersion;
    private transient boolean[] recent;
    private transient int recentAlerts;
    private transient long seen;
    private transient String serving;
    private transient long servingCreatedMs;

    private ScoreMetrics(String registry, String topic, int eventTime, int scoredAt, int version, int decision) {
        this.registry = registry;
        this.topic = topic;
        this.eventTime = eventTime;
        this.scoredAt = scoredAt;
        this.version = version;
        this.decision = decision;
    }

    /** The score rows, unchanged, with their metrics counted on the way. */
    public static DataStream<Row> of(DataStream<Row> scores, String registry, String topic, int eventTime, int scoredAt,
                                     int version, int decision) {
        return scores.map(new ScoreMetrics(registry, topic, eventTime, scoredAt, version, decision), scores.getType())
            .name("score metrics");
    }

    @Override
    public void open(OpenContext context) {
        group = getRuntimeContext().getMetricGroup().addGroup("skewless");
        out = group.addGroup("topic", topic).counter("records_out_total");
        alerts = group.counter("alerts_total");
        latency = group.histogram("score_latency_ms", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        group.gauge("alert_rate", (Gauge<Double>) () -> seen == 0 ? 0.0 : (double) recentAlerts / Math.min(seen, RATE_WINDOW));
        group.gauge("model_age_seconds", (Gauge<Double>) () -> serving == null ? 0.0 : (System.currentTimeMillis() - servingCreatedMs) / 1000.0);
        perVersion = new HashMap<>();
        recent = new boolean[RATE_WINDOW];
    }

    @Override
    public Row map(Row row) {
        out.inc();
        latency.update(((Number) row.getField(scoredAt)).longValue() - ((Number) row.getField(eventTime)).longValue());
        boolean alert = ((Number) row.getField(decision)).intValue() == 1;
        int slot = (int) (seen % RATE_WINDOW);
        recentAlerts += (alert ? 1 : 0) - (recent[slot] ? 1 : 0);
        recent[slot] = alert;
        seen++;
        if (alert) {
            alerts.inc();
        }
        String model = (String) row.getField(version);
        perVersion.computeIfAbsent(model, this::register).inc();
        if (!model.equals(serving)) {
            serving = model;
            servingCreatedMs = createdAt(model);
        }
        return row;
    }

    /** A version's counter of scores, and a gauge that is 1 while it serves (Prometheus' "info" idiom). */
    private Counter register(String model) {
        MetricGroup byVersion = group.addGroup("model_version", model);
        byVersion.gauge("serving_model", (Gauge<Integer>) () -> model.equals(serving) ? 1 : 0);
        return byVersion.counter("scores_total");
    }

    private long createdAt(String model) {
        try {
            String created = ModelMetaFile.read(registry, model).path("created_at").asText();
            return OffsetDateTime.parse(created).toInstant().toEpochMilli();
        } catch (Exception e) {
            return Instant.now().toEpochMilli();
        }
    }
}
