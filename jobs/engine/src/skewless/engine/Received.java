package skewless.engine;

import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.types.Row;

/**
 * A message as it was received and what the rules made of it: the verdict (a broken rule, or the
 * engine's event row), and the original key, value, topic, partition, offset and timestamp, so a
 * refused message can be dead-lettered untouched at any stage.
 */
final class Received {
    static final int RULE = 0;
    static final int MESSAGE = 1;
    static final int ERROR_CLASS = 2;
    static final int EVENT = 3;
    static final int KEY = 4;
    static final int VALUE = 5;
    static final int TOPIC = 6;
    static final int PARTITION = 7;
    static final int OFFSET = 8;
    static final int TIMESTAMP = 9;
    private static final int SIZE = 10;

    private Received() {}

    static TypeInformation<Row> type() {
        return Types.ROW(Types.STRING, Types.STRING, Types.STRING, Events.wideType(0),
            Types.PRIMITIVE_ARRAY(Types.BYTE), Types.PRIMITIVE_ARRAY(Types.BYTE), Types.STRING, Types.INT, Types.LONG, Types.LONG);
    }

    static Row of(Object verdict, byte[] key, byte[] value, String topic, int partition, long offset, long timestamp) {
        Row row = new Row(SIZE);
        if (verdict instanceof Rules.Broken) {
            Rules.Broken broken = (Rules.Broken) verdict;
            row.setField(RULE, broken.rule);
            row.setField(MESSAGE, broken.message);
            row.setField(ERROR_CLASS, broken.errorClass);
        } else {
            row.setField(EVENT, verdict);
        }
        row.setField(KEY, key);
        row.setField(VALUE, value);
        row.setField(TOPIC, topic);
        row.setField(PARTITION, partition);
        row.setField(OFFSET, offset);
        row.setField(TIMESTAMP, timestamp);
        return row;
    }

    /** A row read from a history file: valid by construction (the backfill's staging applied the rules). */
    static Row ofEvent(Row event) {
        Row row = new Row(SIZE);
        row.setField(EVENT, event);
        return row;
    }

    static Row event(Row received) {
        return (Row) received.getField(EVENT);
    }

    static boolean valid(Row received) {
        return received.getField(RULE) == null;
    }

    /** Event time of a valid message; a refused one has none and must not move event time. */
    static long time(Row received) {
        Row event = event(received);
        return event == null ? Long.MIN_VALUE : (Long) event.getField(Events.TIME);
    }

    /** The name of the dead-letter or late record's header family. */
    static final String ERRORS = "__connect.errors.";

    /**
     * The original key, value and timestamp, and headers after Kafka Connect's dead-letter convention:
     * where it came from, the stage, the rule (as the error class's detail) and the message.
     */
    static Row deadLetter(Row received, String stage, String rule, String message, String errorClass) {
        Map<String, byte[]> headers = new HashMap<>();
        put(headers, ERRORS + "topic", received.getField(TOPIC));
        put(headers, ERRORS + "partition", received.getField(PARTITION));
        put(headers, ERRORS + "offset", received.getField(OFFSET));
        put(headers, ERRORS + "stage", stage);
        put(headers, ERRORS + "exception.class.name", errorClass);
        put(headers, ERRORS + "exception.message", message);
        put(headers, "skewless.rule", rule);
        Long timestamp = (Long) received.getField(TIMESTAMP);
        return Row.of(received.getField(KEY), received.getField(VALUE), headers,
            timestamp == null ? null : java.time.Instant.ofEpochMilli(timestamp));
    }

    static TypeInformation<Row> deadLetterType() {
        return Types.ROW_NAMED(new String[] {"k", "v", "headers", "ts"},
            Types.PRIMITIVE_ARRAY(Types.BYTE), Types.PRIMITIVE_ARRAY(Types.BYTE),
            Types.MAP(Types.STRING, Types.PRIMITIVE_ARRAY(Types.BYTE)), Types.INSTANT);
    }

    private static void put(Map<String, byte[]> headers, String name, Object value) {
        if (value != null) {
            headers.put(name, value.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
    }
}
