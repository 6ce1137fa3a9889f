package skewless.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * What enters the feature engine: valid, on-time, first-seen transactions, and labels of known
 * transactions. Everything else leaves, untouched, with the reason, for a dead-letter or late topic.
 *
 * <p>Two steps. Per message, where it is read: a broken rule (already found by {@link Rules}) goes
 * to the dead letters, and a message at or behind the watermark it arrived under to the late
 * records: it could no longer be placed in its entity's history in time order. Then keyed by
 * tx_id, across both topics: a tx_id seen in the last {@code uniqueWithinMs} of event time is a
 * duplicate, and a label is held until the watermark passes it, then admitted only if its
 * transaction came at or before it, within that span, and was not labelled already. An admitted
 * label carries its transaction's card, as the backfill's staging gives it one, so a label rate can
 * be keyed by card as well as by merchant.
 */
public final class Admission {
    static final String TRANSACTION = "transaction";
    static final String LABEL = "label";
    private static final String LATE_RULE = "event_time.late";

    private final DataStream<Row> events;
    private final Map<String, DataStream<Row>> deadLetters = new HashMap<>();
    private final Map<String, DataStream<Row>> late = new HashMap<>();

    private Admission(DataStream<Row> transactions, DataStream<Row> labels, DataStream<Row> history, long uniqueWithinMs, String lateReason) {
        DataStream<Row> admitted = null;
        for (String kind : new String[] {TRANSACTION, LABEL}) {
            SingleOutputStreamOperator<Row> checked = (kind.equals(TRANSACTION) ? transactions : labels)
                .process(new Admit(kind, lateReason), Received.type()).name("admit " + kind + "s: rules, lateness");
            deadLetters.put(kind, checked.getSideOutput(Admit.deadLetterTag(kind)));
            late.put(kind, checked.getSideOutput(Admit.lateTag(kind)));
            admitted = admitted == null ? checked : admitted.union(checked);
        }
        if (history != null) {
            admitted = admitted.union(history.map(Received::ofEvent).returns(Received.type()).name("history events"));
        }
        SingleOutputStreamOperator<Row> once = admitted.keyBy(row -> (String) Received.event(row).getField(Events.TX_ID), Utf8String.TYPE)
            .process(new Once(uniqueWithinMs), Events.wideType(0)).name("admit by tx_id: unique, labels of known transactions");
        events = once;
        for (String kind : new String[] {TRANSACTION, LABEL}) {
            deadLetters.put(kind, deadLetters.get(kind).union(once.getSideOutput(Admit.deadLetterTag(kind))));
        }
    }

    /**
     * {@code history}: engine event rows read before the topics (a stream's bootstrap), or null;
     * {@code lateReason}: the words a late record is set aside with, the backfill's own (jobs/event_time.py).
     */
    public static Admission of(DataStream<Row> transactions, DataStream<Row> labels, DataStream<Row> history, long uniqueWithinMs, String lateReason) {
        return new Admission(transactions, labels, history, uniqueWithinMs, lateReason);
    }

    /** The feature engine's input: event rows ({@link Events}), transactions and labels in one stream. */
    public DataStream<Row> events() {
        return events;
    }

    /** Refused messages of one kind ("transaction", "label"): key, value, headers, timestamp. */
    public DataStream<Row> deadLetters(String kind) {
        return deadLetters.get(kind);
    }

    /** Late messages of one kind, in the same shape. */
    public DataStream<Row> late(String kind) {
        return late.get(kind);
    }

    private static String stage(String rule) {
        return rule.startsWith("record.") ? "parse" : rule.equals(LATE_RULE) ? "event-time" : "validate";
    }

    /** A counter per rule: skewless.rule.<rule>.dead_letters_total. */
    private static final class Counts {
        private final Map<String, Counter> counters = new HashMap<>();
        private final RuntimeContext context;

        Counts(RuntimeContext context) {
            this.context = context;
        }

        void inc(String rule) {
            counters.computeIfAbsent(rule, r -> context.getMetricGroup().addGroup("skewless").addGroup("rule", r).counter("dead_letters_total")).inc();
        }
    }

    private static final class Admit extends ProcessFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final String kind;
        private final String lateReason;
        private transient Counts counts;

        Admit(String kind, String lateReason) {
            this.kind = kind;
            this.lateReason = lateReason;
        }

        static OutputTag<Row> deadLetterTag(String kind) {
            return new OutputTag<>("dead-letters-" + kind, Received.deadLetterType());
        }

        static OutputTag<Row> lateTag(String kind) {
            return new OutputTag<>("late-" + kind, Received.deadLetterType());
        }

        @Override
        public void open(OpenContext context) {
            counts = new Counts(getRuntimeContext());
        }

        @Override
        public void processElement(Row row, Context ctx, Collector<Row> out) {
            String rule = (String) row.getField(Received.RULE);
            if (rule != null) {
                counts.inc(rule);
                ctx.output(deadLetterTag(kind), Received.deadLetter(row, stage(rule), rule,
                    (String) row.getField(Received.MESSAGE), (String) row.getField(Received.ERROR_CLASS)));
                return;
            }
            long watermark = ctx.timerService().currentWatermark();
            if (watermark != Long.MIN_VALUE && Received.time(row) <= watermark) {
                counts.inc(LATE_RULE);
                String message = lateReason + "; missed watermark " + watermark;
                ctx.output(lateTag(kind), Received.deadLetter(row, stage(LATE_RULE), LATE_RULE, message, "skewless.LateEvent"));
                return;
            }
            out.collect(row);
        }
    }

    private static final class Once extends KeyedProcessFunction<String, Row, Row> {
        private static final long serialVersionUID = 1L;
        private final long uniqueWithinMs;
        /** The transaction: its time, its card, whether it is labelled. One value, not three: each value of
         * keyed state repeats the key in every snapshot, and this state holds every tx_id for the whole span. */
        private transient ValueState<Tuple3<Long, String, Boolean>> seen;
        private transient ListState<Row> waitingLabels;
        private transient Counts counts;

        Once(long uniqueWithinMs) {
            this.uniqueWithinMs = uniqueWithinMs;
        }

        @Override
        public void open(OpenContext context) {
            seen = getRuntimeContext().getState(new ValueStateDescriptor<>("transaction", Types.TUPLE(Types.LONG, Utf8String.TYPE, Types.BOOLEAN)));
            waitingLabels = getRuntimeContext().getListState(new ListStateDescriptor<>("waiting-labels", Received.type()));
            counts = new Counts(getRuntimeContext());
        }

        private void refuse(Row row, String kind, String rule, String message, Context ctx) {
            counts.inc(rule);
            ctx.output(Admit.deadLetterTag(kind), Received.deadLetter(row, "dedupe", rule, message, "skewless.ValidationError"));
        }

        @Override
        public void processElement(Row row, Context ctx, Collector<Row> out) throws Exception {
            Row event = Received.event(row);
            long time = (Long) event.getField(Events.TIME);
            if ((Integer) event.getField(Events.KIND) == Events.LABEL) {
                waitingLabels.add(row);
                ctx.timerService().registerEventTimeTimer(time);
            } else if (seen.value() != null) {
                refuse(row, TRANSACTION, "tx_id.unique", "tx_id " + event.getField(Events.TX_ID) + " was seen before", ctx);
            } else {
                seen.update(Tuple3.of(time, (String) event.getField(Events.CC_NUM), false));
                ctx.timerService().registerEventTimeTimer(time + uniqueWithinMs + 2);
                out.collect(event);
            }
        }

        /** Labels whose time has come, in arrival order; then, past the span, the transaction is forgotten. */
        @Override
        public void onTimer(long timestamp, OnTimerContext ctx, Collector<Row> out) throws Exception {
            Tuple3<Long, String, Boolean> transaction = seen.value();
            List<Row> later = new ArrayList<>();
            for (Row row : waitingLabels.get()) {
                long labelTime = Received.time(row);
                if (labelTime > timestamp) {
                    later.add(row);
                } else if (transaction == null || transaction.f0 >= labelTime || labelTime - 1 - transaction.f0 > uniqueWithinMs) {
                    refuse(row, LABEL, "tx_id.known", "no transaction " + Received.event(row).getField(Events.TX_ID)
                        + " at or before the label's time", ctx);
                } else if (transaction.f2) {
                    refuse(row, LABEL, "label.unique", "transaction " + Received.event(row).getField(Events.TX_ID)
                        + " is labelled already", ctx);
                } else {
                    transaction = Tuple3.of(transaction.f0, transaction.f1, true);
                    seen.update(transaction);
                    Row label = Received.event(row);
                    label.setField(Events.CC_NUM, transaction.f1);
                    out.collect(label);
                }
            }
            waitingLabels.update(later);
            if (transaction != null && timestamp >= transaction.f0 + uniqueWithinMs + 2) {
                seen.clear();
            }
        }
    }
}
