package skewless.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;

/**
 * Every feature of one entity in one keyed pass: previous transaction, all windows, label rates.
 *
 * <p>Transactions wait in keyed state until the watermark passes their time, so a row's windows
 * hold every transaction of its millisecond (a window is a span of time) and same-millisecond
 * transactions are taken in tx_id order, whatever order they arrived in. Labels carry their
 * arrival time + 1 ms and go into the entity's history on arrival, in time order, without a
 * timer: a transaction counts the labels up to its own millisecond and no later, so a label
 * counts for a transaction only if it arrived strictly before it, whichever reached the engine
 * first. Every transaction still waiting is at or after the watermark, and an on-time label
 * is after it: none of those it may count has been emitted yet.
 */
public class EntityFeatures extends KeyedProcessFunction<String, Row, Row> {
    private static final long serialVersionUID = 1L;
    private static final double EARTH_RADIUS_KM = 6371.0088;
    private static final long HOUR_MS = 3_600_000L;
    private static final long DAY_MS = 86_400_000L;
    private static final double MICRO = 1e6;

    private final Spec spec;
    private final TypeInformation<Row> rowType;
    private transient ValueState<History> history;
    private transient MapState<Long, List<Row>> waiting;

    public EntityFeatures(Spec spec, TypeInformation<Row> rowType) {
        this.spec = spec;
        this.rowType = rowType;
    }

    @Override
    public void open(OpenContext context) {
        history = getRuntimeContext().getState(new ValueStateDescriptor<>("history", History.class));
        waiting = getRuntimeContext().getMapState(new MapStateDescriptor<>("waiting", Types.LONG, Types.LIST(rowType)));
    }

    @Override
    public void processElement(Row row, Context ctx, Collector<Row> out) throws Exception {
        long time = (Long) row.getField(Events.TIME);
        if ((Integer) row.getField(Events.KIND) == Events.LABEL) {
            History h = entityHistory();
            h.labels.insert(time, (Integer) row.getField(Events.IS_FRAUD));
            history.update(h);
            return;
        }
        List<Row> rows = waiting.get(time);
        if (rows == null) {
            rows = new ArrayList<>();
            ctx.timerService().registerEventTimeTimer(time);
        }
        rows.add(row);
        waiting.put(time, rows);
    }

    @Override
    public void onTimer(long time, OnTimerContext ctx, Collector<Row> out) throws Exception {
        List<Row> rows = waiting.get(time);
        waiting.remove(time);
        if (rows == null) {
            return;
        }
        History h = entityHistory();
        rows.sort(Comparator.comparing(r -> (String) r.getField(Events.TX_ID)));
        emit(time, rows, h, out);
        history.update(h);
    }

    private History entityHistory() throws java.io.IOException {
        History h = history.value();
        return h == null ? History.create(spec) : h;
    }

    private void emit(long time, List<Row> transactions, History h, Collector<Row> out) {
        if (spec.usesHistory()) {
            for (Row row : transactions) {
                h.transactions.insert(time, (Long) row.getField(Events.CENTS));
            }
            for (int w = 0; w < spec.windowsMs.size(); w++) {
                h.transactions.evict(w, time - spec.windowsMs.get(w));
            }
        }
        if (spec.usesPlaces()) {
            for (Row row : transactions) {
                Double lat = (Double) row.getField(Events.LAT);
                Double lon = (Double) row.getField(Events.LON);
                if (lat != null && lon != null) {
                    h.latitudes.insert(time, micro(lat));
                    h.longitudes.insert(time, micro(lon));
                }
            }
            for (int w = 0; w < spec.placeWindowsMs.size(); w++) {
                h.latitudes.evict(w, time - spec.placeWindowsMs.get(w));
                h.longitudes.evict(w, time - spec.placeWindowsMs.get(w));
            }
        }
        for (int w = 0; w < spec.rateWindowsMs.size(); w++) {
            h.labels.evict(w, time - spec.rateWindowsMs.get(w) + 1);
        }
        for (Row row : transactions) {
            setWindows(row, h);
            setPlaces(row, h);
            setRates(row, time, h);
            setPrevious(row, time, h);
            setRatios(row);
            setCalendar(row, time);
            out.collect(row);
        }
    }

    private void setWindows(Row row, History h) {
        Buffer tx = h.transactions;
        for (Spec.Agg agg : spec.aggs) {
            long count = tx.count(agg.window);
            double value;
            switch (agg.how) {
                case "count":
                    value = count;
                    break;
                case "sum":
                    value = tx.sums[agg.window] / 100.0;
                    break;
                case "mean":
                    value = tx.sums[agg.window] / (100.0 * count);
                    break;
                default:
                    long max = Long.MIN_VALUE;
                    for (int i = tx.starts[agg.window]; i < tx.size; i++) {
                        max = Math.max(max, tx.values[i]);
                    }
                    value = max / 100.0;
            }
            row.setField(Events.FEATURES + agg.out, value);
        }
    }

    /**
     * Km from the mean location of the entity's other located transactions in the window (those of
     * the same millisecond included); null when this one, or every other, has no location. The mean
     * is of micro-degrees, so adding and expiring rows is exact in any order.
     */
    private void setPlaces(Row row, History h) {
        Double lat = (Double) row.getField(Events.LAT);
        Double lon = (Double) row.getField(Events.LON);
        for (Spec.Item place : spec.places) {
            int w = (int) place.a;
            long others = h.latitudes.count(w) - 1;
            Double value = null;
            if (lat != null && lon != null && others > 0) {
                double meanLat = (h.latitudes.sums[w] - micro(lat)) / (double) others / MICRO;
                double meanLon = (h.longitudes.sums[w] - micro(lon)) / (double) others / MICRO;
                value = haversineKm(meanLat, meanLon, lat, lon);
            }
            row.setField(Events.FEATURES + place.out, value);
        }
    }

    /** Degrees to whole micro-degrees, half to even (numpy's rint, as the pandas reference rounds). */
    private static long micro(double degrees) {
        return (long) Math.rint(degrees * MICRO);
    }

    /** Labels after this millisecond have arrived, but after this transaction: they are left out. */
    private void setRates(Row row, long time, History h) {
        if (spec.rateOuts.isEmpty()) {
            return;
        }
        int end = h.labels.after(time);
        long laterFraud = h.labels.sumFrom(end);
        int later = h.labels.size - end;
        for (int w = 0; w < spec.rateOuts.size(); w++) {
            int labels = h.labels.count(w) - later;
            Double rate = labels == 0 ? null : (double) (h.labels.sums[w] - laterFraud) / labels;
            row.setField(Events.FEATURES + spec.rateOuts.get(w), rate);
        }
    }

    private void setPrevious(Row row, long time, History h) {
        if (spec.prevs.isEmpty()) {
            return;
        }
        Double lat = (Double) row.getField(Events.LAT);
        Double lon = (Double) row.getField(Events.LON);
        boolean located = lat != null && lon != null;
        long gapMs = time - h.previousTime;
        boolean bothLocated = h.hasPrevious && located && !Double.isNaN(h.previousLat) && !Double.isNaN(h.previousLon);
        double km = bothLocated ? haversineKm(h.previousLat, h.previousLon, lat, lon) : Double.NaN;
        for (Spec.Item prev : spec.prevs) {
            Double value = null;
            if (prev.kind.equals("seconds")) {
                value = h.hasPrevious ? gapMs / 1000.0 : null;
            } else if (bothLocated) {
                value = prev.kind.equals("km") ? km : km * 3600 / (Math.max(gapMs, 1000L) / 1000.0);
            }
            row.setField(Events.FEATURES + prev.out, value);
        }
        h.hasPrevious = true;
        h.previousTime = time;
        h.previousLat = located ? lat : Double.NaN;
        h.previousLon = located ? lon : Double.NaN;
    }

    /** The transaction's amount over a window feature of the same row; null when that is 0 or null. */
    private void setRatios(Row row) {
        double amount = (Long) row.getField(Events.CENTS) / 100.0;
        for (Spec.Item ratio : spec.ratios) {
            Double denominator = (Double) row.getField(Events.FEATURES + (int) ratio.a);
            Double value = denominator == null || denominator == 0.0 ? null : amount / denominator;
            row.setField(Events.FEATURES + ratio.out, value);
        }
    }

    /** Integer arithmetic on epoch milliseconds (UTC): 1970-01-01 was a Thursday, so (day + 3) % 7 is 0 on Monday. */
    private void setCalendar(Row row, long time) {
        long hour = Math.floorMod(Math.floorDiv(time, HOUR_MS), 24L);
        for (Spec.Item calendar : spec.calendars) {
            double value;
            switch (calendar.kind) {
                case "hour_of_day":
                    value = hour;
                    break;
                case "is_night":
                    value = hour >= calendar.a && hour <= calendar.b ? 1 : 0;
                    break;
                default:
                    value = Math.floorMod(Math.floorDiv(time, DAY_MS) + 3, 7L) >= 5 ? 1 : 0;
            }
            row.setField(Events.FEATURES + calendar.out, value);
        }
    }

    /** The formula of udfs/geo.py, on one pair of points. */
    static double haversineKm(double lat1, double lon1, double lat2, double lon2) {
        double p1 = Math.toRadians(lat1);
        double p2 = Math.toRadians(lat2);
        double dLat = Math.toRadians(lat2) - Math.toRadians(lat1);
        double dLon = Math.toRadians(lon2) - Math.toRadians(lon1);
        double s1 = Math.sin(dLat / 2);
        double s2 = Math.sin(dLon / 2);
        double a = s1 * s1 + Math.cos(p1) * Math.cos(p2) * (s2 * s2);
        return 2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(Math.min(Math.max(a, 0.0), 1.0)));
    }
}
